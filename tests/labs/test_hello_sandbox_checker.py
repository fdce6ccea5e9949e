"""The hello-sandbox checker's logic, without Docker: its logs, its plan and its verdicts.

The grader modules are loaded from the lab's checker folder under their own names and
taken out of sys.modules again, so that other labs' modules of the same name cannot mix
with them.
"""

import ast
import hashlib
import random
import subprocess
import sys
from pathlib import Path

import pytest

from tests.labs.checker_modules import load_checker

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "labs" / "hello-sandbox"
CHECKER_DIR, _modules = load_checker(
    "hello-sandbox", ("logs", "reference", "cases", "check", "downstack_harness")
)
logs, reference, cases = _modules["logs"], _modules["reference"], _modules["cases"]
check, harness = _modules["check"], _modules["downstack_harness"]
SAMPLE = (LAB / "starter" / "sample.log").read_text()
CHECK_SEED = 2026
NEAREST_RANK = ("nearest rank where p/100 * n is a whole number",)


def summary_of(text):
    return reference.summarise(text)


def visible_logs(seed):
    return {t for c in cases.plan(seed, SAMPLE) if c.visibility == "visible" for t in c.logs}


def hidden_logs(seed):
    return {t for c in cases.plan(seed, SAMPLE) if c.visibility == "hidden" for t in c.logs}


# -- the plan --------------------------------------------------------------------------


def test_checks_add_up_to_ten_points_and_the_copyable_share_is_small():
    plan = cases.plan(CHECK_SEED, SAMPLE)
    assert sum(c.points for c in plan) == pytest.approx(cases.TOTAL)
    visible = sum(c.points for c in plan if c.visibility == "visible")
    assert visible == pytest.approx(cases.VISIBLE_SHARE)
    assert visible <= 0.2 * cases.TOTAL
    assert {c.visibility for c in plan} == {"visible", "hidden"}
    assert len({c.name for c in plan}) == len(plan)


def test_visible_checks_say_what_their_logs_hold():
    assert all(c.about for c in cases.plan(CHECK_SEED, SAMPLE) if c.visibility == "visible")


def test_the_same_seed_gives_the_same_logs():
    first = [c.logs for c in cases.plan(5, SAMPLE)]
    assert first == [c.logs for c in cases.plan(5, SAMPLE)]


def test_each_learner_gets_their_own_generated_logs():
    shared = {SAMPLE, ""}  # the sample everyone is given, and the empty log
    assert (visible_logs(5) & visible_logs(6)) <= shared
    assert not hidden_logs(5) & hidden_logs(6)


def test_hidden_logs_are_never_the_visible_ones():
    for seed in (CHECK_SEED, 5):
        assert not hidden_logs(seed) & (visible_logs(seed) | visible_logs(seed + 1))


def test_only_the_nearest_rank_checks_and_the_sample_have_whole_ranks():
    for case in cases.plan(CHECK_SEED, SAMPLE):
        counts = [summary_of(text)["requests"] for text in case.logs]
        whole = [n for n in counts if n and (n * 50 % 100 == 0 or n * 99 % 100 == 0)]
        if case.name.endswith(NEAREST_RANK) or case.logs == (SAMPLE,):
            assert whole == counts, case.name
        else:
            assert not whole, case.name


def test_the_no_requests_checks_defeat_every_constant_answer():
    """Always null, or every line malformed: each is wrong on some log of the check."""
    for case in cases.plan(CHECK_SEED, SAMPLE):
        if "no requests" not in case.name:
            continue
        expected = [summary_of(text) for text in case.logs]
        assert any(e["p50_ms"] is None for e in expected)
        assert any(e["requests"] > 0 for e in expected)
        for text, want in zip(case.logs, expected, strict=True):
            non_blank = sum(1 for line in text.splitlines() if line.strip())
            all_malformed = {**want, "requests": 0, "malformed": non_blank, "by_status": {}}
            all_malformed |= {"p50_ms": None, "p99_ms": None}
            if want["requests"]:
                assert cases.differences(all_malformed, want, case.fields)


# -- the logs --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(logs.MALFORMED_KINDS))
def test_every_malformed_kind_is_malformed(kind):
    rng = random.Random(kind)
    for _ in range(50):
        text = logs.MALFORMED_KINDS[kind](rng)
        assert text.strip()
        assert summary_of(text + "\n")["malformed"] == 1, text


@pytest.mark.parametrize("kind", sorted(logs.TRICKY_KINDS))
def test_every_unusual_kind_is_well_formed(kind):
    rng = random.Random(kind)
    for _ in range(50):
        text = logs.TRICKY_KINDS[kind](rng)
        assert summary_of(text + "\n")["requests"] == 1, text


def test_a_log_asked_for_every_kind_holds_every_kind():
    rng = random.Random(1)
    text = logs.build(rng, clean=0, malformed=len(logs.MALFORMED_KINDS))
    assert summary_of(text)["malformed"] == len(logs.MALFORMED_KINDS)
    assert "  200 " in text and "upstream timed out" in text


def test_build_makes_exactly_the_lines_asked_for():
    text = logs.build(random.Random(2), clean=7, tricky=12, malformed=13, blank=5)
    summary = summary_of(text)
    assert (summary["requests"], summary["malformed"]) == (19, 13)
    assert sum(1 for line in text.splitlines() if not line.strip()) == 5
    assert sum(summary["by_status"].values()) == 19


def test_blank_lines_of_spaces_and_tabs_are_ignored():
    assert summary_of("\n \n\t\n   \n") == {
        "requests": 0,
        "malformed": 0,
        "by_status": {},
        "p50_ms": None,
        "p99_ms": None,
    }


def test_nearest_rank_takes_the_ceiling_rank_counting_from_one():
    rng = random.Random(3)
    text = "".join(logs.line(rng, millis=m) + "\n" for m in range(10, 0, -1))
    summary = summary_of(text)
    assert (summary["p50_ms"], summary["p99_ms"]) == (5.0, 10.0)
    two_hundred = logs.distinct_latencies(random.Random(4), 200)
    ordered = sorted(float(line.rsplit(" ", 1)[1]) * 1000 for line in two_hundred.splitlines())
    summary = summary_of(two_hundred)
    assert (summary["p50_ms"], summary["p99_ms"]) == (ordered[99], ordered[197])


# -- reading and comparing answers -----------------------------------------------------


def test_one_json_object_is_read_even_across_lines():
    summary, problem = cases.read_summary(b'{\n  "requests": 1\n}\n')
    assert (summary, problem) == ({"requests": 1}, "")


@pytest.mark.parametrize(
    ("stdout", "words"),
    [
        (b"", "printed nothing"),
        (b'parsed 3 lines\n{"requests": 3}\n', "exactly one JSON object"),
        (b"[1, 2]", "Expected one JSON object"),
        (b"\xff\xfe", "exactly one JSON object"),
    ],
)
def test_anything_but_one_json_object_is_explained(stdout, words):
    summary, problem = cases.read_summary(stdout)
    assert summary is None
    assert words in problem


def test_zero_is_not_null_and_a_float_count_is_not_a_count():
    want = summary_of("")
    got = {**want, "p50_ms": 0.0, "requests": 0.0}
    wrong = cases.differences(got, want, cases.FIELDS)
    assert "p50_ms: expected null, got 0.0" in wrong
    assert "requests: expected 0, got 0.0" in wrong


def test_percentiles_match_within_a_billionth():
    want = {"p50_ms": 12.0, "p99_ms": 431.0}
    assert not cases.differences(
        {"p50_ms": 12.000000000000002, "p99_ms": 431}, want, cases.PERCENTILES
    )
    assert cases.differences({"p50_ms": 12.0, "p99_ms": True}, want, cases.PERCENTILES)


def test_counts_that_disagree_with_each_other_are_pointed_out():
    want = {"requests": 3, "malformed": 0, "by_status": {"200": 3}}
    wrong = cases.differences({**want, "requests": 4}, want, cases.COUNTS)
    assert any("adds up to 3 requests but requests says 4" in line for line in wrong)


# -- running the learner's script ------------------------------------------------------


class FakeGrader:
    """Hands back one prepared LearnerRun, as the harness would."""

    def __init__(self, run):
        self.run = run

    def run_learner(self, command, **kwargs):
        return self.run


def learner_run(**fields):
    values = dict(returncode=0, stdout=b"", stderr=b"", timed_out=False)
    values |= dict(memory_exceeded=False, duration_s=0.1)
    return harness.LearnerRun(**(values | fields))


def far_deadline():
    return check.time.monotonic() + 60


def test_a_flood_is_reported_in_words_without_quoting_it():
    run = learner_run(
        returncode=-9,
        stdout=b"x" * (1 << 20),
        stderr=b"x" * 1000,
        output_truncated=True,
        flooded_streams=("stdout",),
    )
    summary, problem = check.run_script(FakeGrader(run), "", far_deadline())
    assert summary is None
    assert problem.startswith(run.output_note)
    assert "xxx" not in problem and "-9" not in problem


def test_a_crash_quotes_the_last_lines_of_stderr_shortened():
    stderr = b"Traceback\n" + b"y" * 5000 + b"\nValueError: cannot parse\n"
    run = learner_run(returncode=1, stderr=stderr)
    _, problem = check.run_script(FakeGrader(run), "", far_deadline())
    assert "exited with code 1" in problem and "ValueError: cannot parse" in problem
    assert len(problem) < 1000


def test_once_the_time_budget_is_spent_no_more_runs_start():
    grader = FakeGrader(None)  # would fail if it were asked to run anything
    _, problem = check.run_script(grader, "", check.time.monotonic())
    assert problem.startswith("Not run")


# -- the reference and the alternative correct answer ----------------------------------


@pytest.mark.parametrize(
    "program",
    [LAB / "solution" / "logparse.py", LAB / "variants" / "correct-by-hand" / "logparse.py"],
    ids=lambda p: p.parent.name,
)
def test_correct_programs_agree_with_the_reference_on_every_log(program):
    for seed in (CHECK_SEED, 77):
        for case in cases.plan(seed, SAMPLE):
            for text in case.logs:
                done = subprocess.run(
                    [sys.executable, str(program)],
                    input=text.encode(),
                    capture_output=True,
                    check=True,
                    timeout=60,
                )
                summary, problem = cases.read_summary(done.stdout)
                assert problem == ""
                assert not cases.differences(summary, summary_of(text), cases.FIELDS)


def test_the_replay_variant_knows_exactly_the_check_seeds_visible_logs():
    """When the generators change, its table must be rebuilt (the hash of each visible
    log of cases.plan(check_seed) and its reference summary), or it replays nothing."""
    source = (LAB / "variants" / "replay-visible" / "logparse.py").read_text()
    start = source.index("SEEN = {") + len("SEEN = ")
    table = ast.literal_eval(source[start : source.index("\n}\n", start) + 2])
    visible = {
        hashlib.sha256(text.encode()).hexdigest()[:16]: text for text in visible_logs(CHECK_SEED)
    }
    assert set(table) == set(visible)
    for key, text in visible.items():
        assert table[key] == summary_of(text)
