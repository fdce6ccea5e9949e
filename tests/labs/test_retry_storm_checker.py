"""The pure logic of retry-storm's checker: part A's answers and their credit, part B's
runs, outcomes and scoring, and the simulator's determinism.

The checker's modules are imported from its folder as the sandbox gives it
(tests/labs/checker_modules.py), and its own in-process runner drives the simulator;
nothing here starts a process, so these tests need no Docker.
"""

import json
import random

import pytest

from tests.labs.checker_modules import ROOT, load_checker

LAB = ROOT / "labs" / "retry-storm"

# The checker's folder as the sandbox lays it out: grader/ with starter/simulate.py and
# both policies beside it (lab.toml's include); check.py puts starter/ on the path.
_, _modules = load_checker(
    "retry-storm", ("check", "simulate", "scoring", "outcomes", "diagnosis", "run_plan")
)
check, simulate, scoring, outcomes, diagnosis, run_plan = (
    _modules[name] for name in ("check", "simulate", "scoring", "outcomes", "diagnosis", "run_plan")
)
starter_policy = check.load_module(check.STARTER_POLICY)
reference_policy = check.load_module(check.REFERENCE_POLICY)
run = check.trusted_run


# -- part A: parsing and credit ---------------------------------------------------------

WANT = diagnosis.Expected(metastable_second=19, amplification=2.70)


def _answers(text: str) -> dict:
    answers, problem = diagnosis.parse(text.encode())
    assert answers is not None, problem
    return answers


def test_diagnosis_must_be_one_json_object():
    assert diagnosis.parse(None)[0] is None
    for bad in (b"not json", b"[19, 2.7]", b"\xff\xfe"):
        answers, problem = diagnosis.parse(bad)
        assert answers is None and "diagnosis.json" in problem


def test_honest_forms_of_the_answers_are_read():
    assert diagnosis.read_number(19) == 19.0
    assert diagnosis.read_number("19") == 19.0
    assert diagnosis.read_number("2.7x") == 2.7
    assert diagnosis.read_number(" 2.70 × ") == 2.7
    graded = diagnosis.grade_second(_answers('{"metastable_second": "19"}'), WANT, 1.5)
    assert graded.passed and graded.score == 1.5
    graded = diagnosis.grade_amplification(_answers('{"amplification": "2.7x"}'), WANT, 1.5)
    assert graded.passed and graded.score == 1.5


@pytest.mark.parametrize(
    "value", ['"19 or 20"', "[19, 20]", '"19-20"', "true", "19.5", '"about 19"', "null"]
)
def test_a_second_that_names_more_or_less_than_one_whole_second_earns_nothing(value):
    graded = diagnosis.grade_second(_answers(f'{{"metastable_second": {value}}}'), WANT, 1.5)
    assert not graded.passed and graded.score == 0


@pytest.mark.parametrize("value", ['"2.6 to 2.8"', "[2.6, 2.8]", '"2.7x or 2.8x"', "false"])
def test_an_ambiguous_amplification_earns_nothing(value):
    graded = diagnosis.grade_amplification(_answers(f'{{"amplification": {value}}}'), WANT, 1.5)
    assert not graded.passed and graded.score == 0


def test_part_a_credit_falls_linearly_with_the_error():
    scores = [
        diagnosis.grade_second({"metastable_second": 19 + off}, WANT, 1.5).score for off in range(7)
    ]
    assert scores[:2] == [1.5, 1.5]
    assert scores[5:] == [0, 0]
    for near, far in zip(scores, scores[1:], strict=False):
        # One second further never costs more than the linear share (1.5 / 4), rounded.
        assert 0 <= near - far <= 1.5 / 4 + 0.01
    below = diagnosis.grade_second({"metastable_second": 17}, WANT, 1.5).score
    assert below == scores[2]  # the error counts either way


def test_amplification_credit_has_no_cliff():
    previous = 1.5
    for step in range(1, 40):
        got = 2.70 + step * 0.01
        score = diagnosis.grade_amplification({"amplification": got}, WANT, 1.5).score
        assert 0 <= previous - score <= 1.5 * 0.01 / 0.25 + 0.011
        previous = score
    assert previous == 0


def test_the_expected_answers_follow_the_readme_definitions():
    result = run(starter_policy, 2718, "incident")
    want = diagnosis.expected(result)
    rows = result.dashboard
    first = next(row["second"] for row in rows if row["offered"] > 100)
    assert want.metastable_second == first
    after = rows[result.shape.trigger.end_s :]
    assert want.amplification == sum(r["offered"] for r in after) / sum(
        r["requests"] for r in after
    )
    solution = json.loads((LAB / "solution" / "diagnosis.json").read_text())
    assert diagnosis.grade_second(solution, want, 1.5).passed
    assert diagnosis.grade_amplification(solution, want, 1.5).passed


# -- part B: runs, outcomes, scoring --------------------------------------------------------


def test_hidden_runs_repeat_for_a_seed_and_are_not_the_visible_ones():
    assert run_plan.hidden_runs(2718) == run_plan.hidden_runs(2718)
    assert run_plan.hidden_runs(2718) != run_plan.hidden_runs(2719)
    visible_seeds = {seed for seed, _ in run_plan.visible_runs(2718)}
    hidden_seeds = [seed for seed, _ in run_plan.hidden_runs(2718)]
    assert visible_seeds == {2718}
    assert not visible_seeds & set(hidden_seeds)
    assert len(set(hidden_seeds)) == len(hidden_seeds)


def test_hidden_seeds_do_not_follow_from_the_learners_seed_alone():
    # Without the salt, the obvious derivations of a seed do not give the hidden ones.
    hidden = {seed for seed, _ in run_plan.hidden_runs(2718)}
    guesses = {2718 + k for k in range(-100, 100)} | {2718 * k for k in range(100)}
    guesses |= {random.Random(2718).randrange(2**31) for _ in range(1)}
    assert not hidden & guesses
    assert run_plan.HIDDEN_SALT not in (LAB / "README.md").read_text()


def _outcome(**fields):
    base = dict(
        shape="slowdown",
        requests=100,
        answered=100,
        recovery_s=0,
        recovery_searched_s=20,
        amplification=1.2,
        herd_requests=0,
        herd_answered=0,
        calm_latencies=(50, 60, 70),
    )
    base.update(fields)
    return outcomes.Outcome(**base)


def test_recovery_and_amplification_credits_move_linearly():
    assert scoring.recovery_credit(_outcome(recovery_s=5)) == 1.0
    assert scoring.recovery_credit(_outcome(recovery_s=20)) == 0.0
    assert scoring.recovery_credit(_outcome(recovery_s=None)) == 0.0
    assert scoring.recovery_credit(None) == 0.0
    previous = 1.0
    for seconds in range(6, 21):
        credit = scoring.recovery_credit(_outcome(recovery_s=seconds))
        assert 0 <= previous - credit <= 1 / 15 + 1e-9
        previous = credit
    assert scoring.amplification_credit(_outcome(amplification=2.3)) == pytest.approx(0.5)
    # Sparing the backend counts only as far as the users got answers again.
    half = _outcome(amplification=1.0, recovery_s=12.5)
    assert scoring.amplification_credit(half) == pytest.approx(0.5)


def test_an_error_burst_counts_only_as_far_as_the_overloads_recovered():
    runs = [(1, "slowdown"), (2, "errors")]
    theirs = [_outcome(), _outcome(shape="errors", amplification=None)]
    stuck = [_outcome(recovery_s=None), _outcome(shape="errors", amplification=None)]
    assert scoring.recovery_verdict(runs, stuck, theirs).credit == 0.0
    fine = [_outcome(), _outcome(shape="errors", amplification=None)]
    assert scoring.recovery_verdict(runs, fine, theirs).credit == 1.0


def test_one_more_answered_request_never_moves_goodput_by_more_than_its_share():
    runs = [(1, "steady")]
    theirs = [_outcome(requests=1000, answered=1000)]
    previous = 0.0
    for answered in range(650, 1001):
        credit = scoring.goodput_verdict(runs, [_outcome(answered=answered)], theirs).credit
        assert 0 <= credit - previous <= (1 / 1000) / (0.85 - 0.70) + 1e-9
        previous = credit
    assert previous == 1.0


def test_one_more_answered_herd_request_never_moves_the_herd_credit_by_more_than_its_share():
    runs = [(1, "herd")]
    theirs = [_outcome(shape="herd", herd_requests=100, herd_answered=100)]
    previous = 0.0
    for answered in range(0, 101):
        mine = [_outcome(shape="herd", herd_requests=100, herd_answered=answered)]
        credit = scoring.herd_verdict(runs, mine, theirs).credit
        assert 0 <= credit - previous <= (1 / 100) / (0.75 - 0.5) + 1e-9
        previous = credit
    assert previous == 1.0


def test_a_run_that_did_not_complete_earns_nothing_anywhere():
    runs = [(1, "slowdown"), (2, "herd")]
    theirs = [_outcome(), _outcome(shape="herd", herd_requests=50, herd_answered=50)]
    found = scoring.verdicts(runs, [None, None], theirs)
    assert all(verdict.credit == 0 for verdict in found.values())
    assert scoring.weighted(found) == 0


def test_the_reference_against_itself_earns_every_point():
    runs = [(1, "slowdown"), (2, "herd"), (3, "steady")]
    theirs = [
        _outcome(),
        _outcome(shape="herd", herd_requests=50, herd_answered=49, recovery_searched_s=0),
        _outcome(shape="steady", amplification=None, recovery_searched_s=0, recovery_s=None),
    ]
    found = scoring.verdicts(runs, theirs, theirs)
    assert set(found) == set(scoring.POINTS)
    assert scoring.weighted(found) == 1.0


def test_outcomes_are_measured_on_a_small_synthetic_result():
    shape = simulate.Shape(
        "slowdown", 40, 10, 2000, simulate.Trigger("slowdown", 5, 15, 4), ((2050, 3),)
    )
    result = simulate.Result(seed=1, shape=shape)
    result.dashboard = [
        {"second": s, "requests": 10, "offered": 30 if 5 <= s < 15 else 10} for s in range(40)
    ]
    requests = []
    for second in range(40):
        for k in range(10):
            arrival = second * 1000 + k * 100
            # Nothing is answered during the trigger and for 3 s after it.
            ok = not 5 <= second < 18
            requests.append((arrival, arrival + 40, ok, 1))
    requests += [(2050 + k, 2100, True, 1) for k in range(3)]  # the herd, all answered
    result.requests = requests
    got = outcomes.measure(result)
    assert got.recovery_s == 3
    assert got.recovery_searched_s == 40 - 10 - 15
    assert got.amplification == pytest.approx(3.0)
    assert (got.herd_requests, got.herd_answered) == (3, 3)
    assert got.calm_latencies and max(got.calm_latencies) == 40
    # The seconds right after the herd are not calm.
    assert all(s not in outcomes.calm_seconds(result) for s in (2, 3, 4, 5))


# -- the simulator --------------------------------------------------------------------------


def test_the_simulator_replays_a_seed_exactly_and_changes_with_it():
    first = run(reference_policy, 31, "herd")
    again = run(reference_policy, 31, "herd")
    assert first.dashboard == again.dashboard and first.requests == again.requests
    assert run(reference_policy, 32, "herd").requests != first.requests


def test_the_starter_goes_metastable_and_the_reference_recovers():
    for seed in (2718, 7):
        stuck = outcomes.measure(run(starter_policy, seed, "incident"))
        assert stuck.recovery_s is None
        fixed = outcomes.measure(run(reference_policy, seed, "incident"))
        assert fixed.recovery_s is not None and fixed.recovery_s <= scoring.RECOVERY_FULL_S


def test_a_malformed_answer_stops_the_run_with_a_message():
    with pytest.raises(simulate.PolicyError, match="expected true or false"):
        simulate.check_answers("server", {"answers": [1]}, 1)
    with pytest.raises(simulate.PolicyError, match="one per decide event"):
        simulate.check_answers("client", {"answers": []}, 1)
    with pytest.raises(simulate.PolicyError, match="delay_ms"):
        simulate.check_answers("client", {"answers": [{"timeout_ms": 5}]}, 1)
