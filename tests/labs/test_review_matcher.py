"""The ai-patch-review checker's logic: review.json validation, matching, F1, versions.

The checker's folder is assembled as the sandbox gets it (grader/ plus the starter files
lab.toml includes), and its modules are imported from there under their own names, then
taken out of sys.modules again, so that other labs' modules of the same name (check...)
cannot mix with them.
"""

import importlib
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from catalog.labfiles import load_lab
from tests.labs.checker_modules import load_checker

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "labs" / "ai-patch-review"
GRADER_MODULES = ("review", "versions", "regression", "check")
SPEC = load_lab(LAB)


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CHECKER_DIR, _checker = load_checker("ai-patch-review", GRADER_MODULES)
review, versions, regression = _checker["review"], _checker["versions"], _checker["regression"]
check = _checker["check"]
apply_pr = _load("ai_patch_review_apply_pr", LAB / "starter" / "apply_pr.py")

KEY_DOCUMENT = json.loads((LAB / "grader" / "review_key.json").read_text())
KEY = review.load_key(KEY_DOCUMENT)
PATCHED = versions.assemble(check.PR_VERSION)
KNOWN_FILES = check.patched_files()


def finding(file, line, category, severity="high", comment="why"):
    return review.Finding(file, line, review.canonical_category(category), severity, comment)


def parse(document) -> "review.Review":
    raw = document if isinstance(document, bytes) else json.dumps(document).encode()
    return review.parse_review(raw, known_files=KNOWN_FILES)


def problems_of(document) -> list[str]:
    with pytest.raises(review.ReviewError) as caught:
        parse(document)
    return caught.value.problems


# -- the versions of the code and the key ---------------------------------------------------


def test_every_version_assembles_from_only_the_files_it_changes():
    for name in versions.BASES:
        own, base = versions.own_files(name), versions.base_files(name)
        assert own, f"{name} changes nothing: it is its base"
        for path, data in own.items():
            assert base.get(path) != data, f"versions/{name}/{path} is identical to its base's"
        assert "relay/__init__.py" in versions.assemble(name), name


def test_every_version_is_built_on_the_repository_the_learner_was_given():
    for name in versions.BASES:
        chain = [name]
        while chain[-1] in versions.BASES:
            chain.append(versions.BASES[chain[-1]])
            assert len(chain) <= len(versions.BASES) + 1, f"a cycle: {chain}"
        assert chain[-1] == "starter/repo", chain
    assert set(check.HIDDEN) | {check.PR_VERSION} == set(versions.BASES)
    assert len(check.HIDDEN) == len(set(check.HIDDEN))


def test_the_pr_reworded_shares_no_changed_file_with_the_pr():
    # Else a test could recognise the PR by the hash of one of its files and pass there.
    reworded = versions.assemble(check.PR_REWORDED)
    changed = [path for path in versions.own_files(check.PR_VERSION) if path.startswith("relay/")]
    assert changed
    for path in changed:
        assert reworded[path] != PATCHED[path], path


def test_every_key_anchor_points_at_the_line_it_names():
    for defect in KEY_DOCUMENT["defects"]:
        for anchor in defect["anchors"]:
            lines = PATCHED[anchor["file"]].decode().splitlines()
            assert lines[anchor["line"] - 1].strip() == anchor["text"], (defect["id"], anchor)


def test_the_diff_applied_to_the_base_gives_the_patched_tree(tmp_path):
    # The diff is what the learner reviews; the assembled PR version is what is graded.
    head = tmp_path / "head"
    for name, data in SPEC.files("starter/repo").items():
        (head / name).parent.mkdir(parents=True, exist_ok=True)
        (head / name).write_bytes(data)
    apply_pr.apply((LAB / "starter" / "pr" / "pr-42.diff").read_text(), head)
    applied = {
        p.relative_to(head).as_posix(): p.read_bytes() for p in head.rglob("*") if p.is_file()
    }
    assert applied == PATCHED


def test_the_key_has_one_defect_of_each_kind():
    assert sorted(d.category for d in KEY) == [
        "error-handling",
        "invariant",
        "off-by-one",
        "race",
        "resource-leak",
    ]


# -- categories and synonyms -------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("race", "race"),
        ("Thread safety", "race"),
        ("CONCURRENCY", "race"),
        ("toctou", "race"),
        ("swallowed_error", "error-handling"),
        ("silent failure", "error-handling"),
        ("fencepost", "off-by-one"),
        ("off by one", "off-by-one"),
        ("data-structure", "invariant"),
        ("connection leak", "resource-leak"),
        ("nit", "style"),
    ],
)
def test_category_synonyms_map_to_one_name(name, canonical):
    assert review.canonical_category(name) == canonical


@pytest.mark.parametrize("name", ["bug", "logic", "", "racy"])
def test_unknown_categories_are_not_guessed(name):
    assert review.canonical_category(name) is None


# -- matching ------------------------------------------------------------------------------


def test_a_finding_on_each_anchor_finds_every_defect():
    found = [finding(d.anchors[0].file, d.anchors[0].line, d.category) for d in KEY]
    score = review.score_findings(found, KEY)
    assert score.true_positives == 5 and score.false_positives == 0
    assert score.f1 == 1.0


@pytest.mark.parametrize(("offset", "matches"), [(-3, True), (3, True), (-4, False), (4, False)])
def test_line_tolerance_is_three_lines_either_side(offset, matches):
    # relay/outbox.py:77 is the heap defect's only anchor.
    score = review.score_findings([finding("relay/outbox.py", 77 + offset, "invariant")], KEY)
    assert score.true_positives == (1 if matches else 0)
    assert score.false_positives == (0 if matches else 1)


def test_tolerance_is_measured_from_the_nearest_anchor():
    # The race has anchors on lines 32 and 33: 36 is within 3 of 33.
    score = review.score_findings([finding("relay/pool.py", 36, "race")], KEY)
    assert score.matched == ("pool-fast-path-race",)


def test_the_same_line_in_another_file_does_not_match():
    score = review.score_findings([finding("relay/pool.py", 77, "invariant")], KEY)
    assert score.true_positives == 0 and score.false_positives == 1


def test_synonym_categories_match():
    found = [finding("relay/pool.py", 32, "thread-safety"), finding("relay/retry.py", 28, "obo")]
    score = review.score_findings(found, KEY)
    assert set(score.matched) == {"pool-fast-path-race", "backoff-exponent-off-by-one"}


def test_a_defect_found_at_two_of_its_places_counts_once_and_costs_nothing():
    # The leak's anchors are lines 63 and 65: one finding on each is fair.
    found = [
        finding("relay/dispatcher.py", 65, "resource-leak"),
        finding("relay/dispatcher.py", 63, "leak"),
    ]
    score = review.score_findings(found, KEY)
    assert (score.true_positives, score.repeats, score.duplicates) == (1, 1, 0)
    assert score.finding_outcomes == (
        "match:broken-connection-leaks-pool-slot",
        "repeat:broken-connection-leaks-pool-slot",
    )
    assert score.precision == 1.0 and score.recall == pytest.approx(0.2)


def test_a_third_finding_on_a_defect_with_two_places_is_a_false_positive():
    found = [
        finding("relay/dispatcher.py", 65, "resource-leak"),
        finding("relay/dispatcher.py", 63, "leak"),
        finding("relay/dispatcher.py", 64, "connection-leak"),
    ]
    score = review.score_findings(found, KEY)
    assert (score.true_positives, score.repeats, score.duplicates) == (1, 1, 1)
    assert score.false_positives == 0
    assert score.precision == pytest.approx(0.5)


def test_a_finding_repeated_on_its_line_is_a_false_positive():
    found = [finding("relay/outbox.py", 77, "invariant")] * 3
    score = review.score_findings(found, KEY)
    assert (score.true_positives, score.repeats, score.duplicates) == (1, 0, 2)
    assert score.precision == pytest.approx(1 / 3)


def test_eight_findings_on_consecutive_lines_around_a_defect_cost_precision():
    # Lines 29 to 36 of pool.py are all within 3 of the race's anchors (32 and 33).
    found = [finding("relay/pool.py", line, "race") for line in range(29, 37)]
    score = review.score_findings(found, KEY)
    assert (score.true_positives, score.repeats, score.duplicates) == (1, 1, 6)
    assert score.precision == pytest.approx(1 / 7)
    alone = review.score_findings(found[:1], KEY)
    assert score.f1 < alone.f1 / 2


def test_how_repeats_count_does_not_depend_on_the_order_of_findings():
    # 64 is as near to 63 as to 65: whichever comes first, both places are pointed at.
    lines = (64, 63)
    for order in (lines, lines[::-1]):
        found = [finding("relay/dispatcher.py", line, "resource-leak") for line in order]
        score = review.score_findings(found, KEY)
        assert (score.true_positives, score.repeats, score.duplicates) == (1, 1, 0), order


def test_a_defect_with_anchors_in_two_files_matches_either():
    at_call_site = finding("relay/dispatcher.py", 72, "off-by-one")
    in_policy = finding("relay/retry.py", 28, "off-by-one")
    assert review.score_findings([at_call_site], KEY).matched == ("backoff-exponent-off-by-one",)
    both = review.score_findings([at_call_site, in_policy], KEY)
    assert (both.true_positives, both.repeats, both.duplicates) == (1, 1, 0)
    assert both.f1 == pytest.approx(review.score_findings([in_policy], KEY).f1)


def test_right_line_wrong_category_is_a_false_positive():
    score = review.score_findings([finding("relay/outbox.py", 77, "race")], KEY)
    assert score.true_positives == 0
    assert score.false_positives == 1 and score.wrong_category == 1


def test_style_documentation_and_testing_comments_are_not_scored():
    found = [
        finding("relay/outbox.py", 77, "invariant"),
        finding("tests/test_dispatcher.py", 45, "testing"),
        finding("relay/retry.py", 10, "docs"),
        finding("relay/pool.py", 5, "nit"),
    ]
    score = review.score_findings(found, KEY)
    assert score.unscored == 3
    assert score.precision == 1.0 and score.true_positives == 1


def test_f1_over_distinct_defects():
    found = [
        finding("relay/outbox.py", 77, "invariant"),
        finding("relay/retry.py", 28, "off-by-one"),
        finding("relay/transport.py", 20, "security"),
    ]
    score = review.score_findings(found, KEY)
    assert score.precision == pytest.approx(2 / 3)
    assert score.recall == pytest.approx(2 / 5)
    assert score.f1 == pytest.approx(0.5)


def test_no_findings_scores_zero_without_dividing_by_zero():
    score = review.score_findings([], KEY)
    assert (score.precision, score.recall, score.f1) == (0.0, 0.0, 0.0)


def test_flagging_twelve_lines_at_random_scores_low():
    lines = [(f, n) for f, count in KNOWN_FILES.items() if f.startswith("relay/") for n in (1,)]
    kinds = ["race", "error-handling", "off-by-one", "invariant", "resource-leak"]
    found = [finding(f, n, kinds[i % 5]) for i, (f, n) in enumerate(lines * 2)][:12]
    assert review.score_findings(found, KEY).f1 < 0.2


def test_feedback_says_repeats_cost_precision():
    found = [finding("relay/outbox.py", 77, "invariant")] * 2
    text = review.explain_score(review.score_findings(found, KEY))
    assert "1 finding(s) repeat a defect already found" in text
    assert "false positives" in text


def test_feedback_gives_counts_not_the_key():
    found = [finding("relay/outbox.py", 77, "invariant"), finding("relay/outbox.py", 75, "race")]
    text = review.explain_score(review.score_findings(found, KEY))
    assert "found 1 of them" in text and "1 finding(s) sit within 3 lines" in text
    for defect in KEY:
        assert defect.id not in text
        assert str(defect.anchors[0].line) not in text


# -- validation ------------------------------------------------------------------------------


def good_finding(**overrides):
    item = {
        "file": "relay/outbox.py",
        "line": 77,
        "category": "invariant",
        "severity": "high",
        "comment": "append breaks the heap",
    }
    item.update(overrides)
    return item


def test_a_valid_review_parses_and_normalises():
    parsed = parse(
        {
            "verdict": "request_changes",
            "summary": "no",
            "findings": [good_finding(file="b/relay/outbox.py", category="Broken invariant")],
        }
    )
    assert parsed.verdict == "request_changes"
    assert parsed.findings[0].file == "relay/outbox.py"
    assert parsed.findings[0].category == "invariant"


def test_invalid_json_says_where():
    (problem,) = problems_of(b'{"verdict": "approve",\n "findings": [],}')
    assert problem.startswith("review.json is not valid JSON") and "line 2" in problem


def test_too_many_findings_are_refused_with_the_limit():
    (problem,) = problems_of({"verdict": "approve", "findings": [good_finding()] * 13})
    assert "13 findings" in problem and "at most 12" in problem


def test_twelve_findings_are_allowed():
    assert len(parse({"verdict": "approve", "findings": [good_finding()] * 12}).findings) == 12


def test_unknown_category_lists_the_valid_ones():
    (problem,) = problems_of({"verdict": "approve", "findings": [good_finding(category="bug")]})
    assert 'unknown category "bug"' in problem and "resource-leak" in problem


def test_every_problem_is_reported_at_once():
    problems = problems_of(
        {
            "verdict": "lgtm",
            "findings": [
                good_finding(line="77"),
                good_finding(line=True),
                good_finding(file="outbox.py"),
                good_finding(line=500),
                good_finding(severity="blocker", comment=" "),
                {"file": "relay/pool.py", "line": 3, "category": "race", "lines": 4},
            ],
            "approved": True,
        }
    )
    text = "\n".join(problems)
    assert "unknown field 'approved'" in text
    assert '"verdict" must be "approve" or "request_changes"' in text
    assert 'finding 1: line must be a whole number, not "77"' in text
    assert "finding 2: line must be a whole number, not true" in text
    assert 'finding 3: file "outbox.py" is not a file of the patched repository' in text
    assert "finding 4: relay/outbox.py has lines 1 to" in text
    assert "finding 5: severity must be one of" in text and "finding 5: comment" in text
    assert "finding 6: unknown field 'lines'" in text
    assert "finding 6: field 'severity' is missing" in text


def test_a_field_given_twice_is_refused():
    # json.loads would keep the last one; a review with two verdicts names none.
    twice = b'{"verdict": "approve", "findings": [], "verdict": "request_changes"}'
    (problem,) = problems_of(twice)
    assert "'verdict' appears twice" in problem
    item = json.dumps(good_finding())[:-1] + ', "line": 75}'
    (problem,) = problems_of(('{"verdict": "approve", "findings": [' + item + "]}").encode())
    assert "'line' appears twice" in problem


def test_a_document_that_is_not_an_object_is_refused():
    assert "one JSON object" in problems_of([{"verdict": "approve"}])[0]


def test_findings_must_be_a_list():
    assert '"findings" must be a list' in problems_of({"verdict": "approve"})[0]


def test_the_explanation_caps_the_number_of_problems_shown():
    error = review.ReviewError([f"problem {n}" for n in range(15)])
    assert "... and 5 more problems" in error.explain()


# -- the shipped submissions score as lab.toml says ---------------------------------------


def submitted_review(name: str) -> bytes:
    """review.json as the starter, the solution or a variant (over its base) submits it."""
    if name in ("starter", "solution"):
        return SPEC.submitted_files(name)["review.json"]
    (variant,) = [v for v in SPEC.variants if v.name == name]
    return SPEC.variant_files(variant)["review.json"]


def review_f1(name: str) -> float | None:
    try:
        parsed = review.parse_review(submitted_review(name), known_files=KNOWN_FILES)
    except review.ReviewError:
        return None
    return review.score_findings(parsed.findings, KEY).f1


def test_reference_and_correct_variants_find_everything():
    for name in ("solution", "correct-synonyms", "correct-with-nits"):
        assert review_f1(name) == 1.0, name


def test_variants_of_the_test_alone_keep_the_full_review():
    for variant in SPEC.variants:
        if variant.name.startswith("test-"):
            assert review_f1(variant.name) == 1.0, variant.name


def test_wrong_variants_score_as_intended():
    assert review_f1("flag-every-line") is None
    assert review_f1("unknown-category") is None
    assert review_f1("wrong-categories") == 0.0
    assert review_f1("two-of-five") == pytest.approx(4 / 7)
    # 5 found, 1 more at another anchor, 6 repeats: precision 5/11.
    assert review_f1("spray-around-defects") == pytest.approx(2 * (5 / 11) / (5 / 11 + 1))
    # 4 found, each twice more on its line: precision 1/3, recall 4/5.
    assert review_f1("duplicate-findings") == pytest.approx(2 * (1 / 3) * 0.8 / (1 / 3 + 0.8))
    assert review_f1("shotgun-twelve") < 0.3
    assert review_f1("starter") == 0.0


# -- reading a test run's outcome ------------------------------------------------------------


def test_failing_test_names_are_read_from_unittest_output():
    output = (
        "FAIL: test_backoff (test_regression.T.test_backoff)\n"
        "ERROR: test_leak (test_regression.T.test_leak)\n"
        "FAIL: test_backoff (test_regression.T.test_backoff)\n"
        "FAIL: setUpClass (test_regression.T)\n"
    )
    source = "def test_backoff(self): ...\ndef test_leak(self): ..."
    assert regression.failing_tests(output, source) == ["test_backoff", "test_leak"]


def test_test_names_made_up_at_run_time_are_not_reported():
    output = "FAIL: test_self_pool_discard (test_regression.T)\nFAIL: test_leak (x.T)\n"
    assert regression.failing_tests(output, "def test_leak(self): ...") == ["test_leak"]


def test_on_a_hidden_version_the_learner_reads_nothing_the_test_chose():
    output = "FAIL: test_backoff (test_regression.T.test_backoff)\n"
    source = "def test_backoff(self): ..."
    assert regression.describe(1, False, False, output, source) == "failed (test_backoff)"
    assert regression.describe(1, False, False, output, source, hidden=True) == "failed"
    assert regression.describe(37, False, False, "", "", hidden=True) == "failed"
    assert regression.describe(0, False, False, output, source, hidden=True) == "passed"
    assert "did not finish" in regression.describe(None, True, False, "", "", hidden=True)


def test_describe_says_what_happened():
    assert regression.describe(0, False, False, "", "") == "passed"
    assert "did not finish" in regression.describe(None, True, False, "", "")
    assert "MB" in regression.describe(-9, False, True, "", "")
    assert regression.describe(1, False, False, "Traceback", "") == "failed (exit status 1)"


# -- the order of the hidden versions ------------------------------------------------------


def test_the_hidden_order_is_fixed_for_one_test():
    source = (LAB / "solution" / "test_regression.py").read_bytes()
    assert check.hidden_order(source) == check.hidden_order(source)
    assert sorted(check.hidden_order(source)) == sorted(check.HIDDEN)


def test_the_hidden_order_changes_with_the_test_text():
    # A test that counts its runs cannot know which version the n-th run is.
    orders = {tuple(check.hidden_order(b"# test %d" % n)) for n in range(200)}
    assert len(orders) > 190
    for position in range(len(check.HIDDEN)):
        assert len({order[position] for order in orders}) == len(check.HIDDEN), position


# -- the shipped tests on every version, run here without the sandbox ---------------------

# A test of documented behaviour that no correct fix may fail: the PR description says
# transport errors are retried, and a connection that cannot be made is one.
CONNECT_FAILURE_TEST = b"""
import unittest
from relay import ConnectionPool, Dispatcher, Outbox


def refuse():
    raise ConnectionRefusedError("refused")


class T(unittest.TestCase):
    def test_a_connection_that_cannot_be_made_is_retried(self):
        outbox = Outbox(clock=lambda: 0.0)
        dispatcher = Dispatcher(outbox, ConnectionPool(refuse, size=1), acquire_timeout_s=0.01)
        outbox.put("a", "/hook", b"{}")
        dispatcher.run_once()
        self.assertEqual(outbox.stats()["pending"], 1)
"""
_FAILED = re.compile(r"^(?:FAIL|ERROR): (\w+)", re.MULTILINE)


def failing_tests_on(version: str, test_source: bytes, tmp_path: Path) -> set[str]:
    """The tests that fail on a version, run as the driver runs them (names, or the
    error of a module of plain asserts)."""
    stage = tmp_path / version
    for path, data in versions.assemble(version).items():
        if path.startswith("relay/"):
            (stage / path).parent.mkdir(parents=True, exist_ok=True)
            (stage / path).write_bytes(data)
    (stage / regression.TEST_FILE).write_bytes(test_source)
    done = subprocess.run(
        [sys.executable, "-c", regression.DRIVER],
        cwd=stage,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    names = set(_FAILED.findall(done.stdout + done.stderr))
    if done.returncode and not names:  # plain asserts: the module failed as it loaded
        names = {done.stderr.strip().splitlines()[-1]}
    return names


def shipped_test(name: str) -> bytes:
    if name == "solution":
        return SPEC.submitted_files("solution")["test_regression.py"]
    (variant,) = [v for v in SPEC.variants if v.name == name]
    return SPEC.variant_files(variant)["test_regression.py"]


def test_the_reference_test_fails_on_the_bugs_and_passes_on_the_fixes(tmp_path):
    source = shipped_test("solution")
    for name in (check.PR_VERSION, check.PR_REWORDED, *check.WRONG):
        assert failing_tests_on(name, source, tmp_path), name
    for name in check.CORRECT:
        assert failing_tests_on(name, source, tmp_path) == set(), name


@pytest.mark.parametrize(
    "name", ["solution", "correct-synonyms", "correct-with-nits", "test-always-fails"]
)
def test_the_pr_reworded_fails_the_same_tests_as_the_pr(name, tmp_path):
    # The same defects in other words: every test of behaviour sees them alike.
    source = shipped_test(name)
    on_pr = failing_tests_on(check.PR_VERSION, source, tmp_path / "pr")
    assert on_pr == failing_tests_on(check.PR_REWORDED, source, tmp_path / "reworded")


def test_every_correct_fix_retries_a_connection_that_cannot_be_made(tmp_path):
    for name in (*check.CORRECT, check.PR_VERSION, check.PR_REWORDED):
        assert failing_tests_on(name, CONNECT_FAILURE_TEST, tmp_path) == set(), name
