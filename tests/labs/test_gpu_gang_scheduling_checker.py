"""The pure logic of gpu-gang-scheduling's checker: the cluster model's rules, the
simulation's determinism, part A's expected answers and credit, part B's runs and credit.

The checker's modules are imported from its folder as the sandbox gives it
(tests/labs/checker_modules.py), and schedulers run in-process through the checker's
trusted runner or a scripted stand-in; nothing here starts a process or needs Docker.
"""

import json
import re

import pytest

from tests.labs.checker_modules import ROOT, load_checker, private_uses

LAB = ROOT / "labs" / "gpu-gang-scheduling"
CHECK_SEED = 4242

_, _modules = load_checker("gpu-gang-scheduling", ("check", "cluster", "diagnosis", "scoring"))
check, cluster, diagnosis, scoring = (
    _modules[name] for name in ("check", "cluster", "diagnosis", "scoring")
)
starter = check.load_module(check.STARTER_SCHEDULER)
reference = check.load_module(check.REFERENCE_SCHEDULER)
run = check.trusted_run


class Scripted:
    """A scheduler that answers the init message, then the given answers in turn."""

    def __init__(self, *answers) -> None:
        self.answers = list(answers)
        self.messages = []

    def ask(self, message):
        self.messages.append(message)
        if message["type"] == "init":
            return {"bindings": []}
        return self.answers.pop(0) if self.answers else {"bindings": []}


def _trace(gangs=(), inference=()):
    return cluster.Trace("test", 0, tuple(gangs), tuple(inference))


def _gang(name="train-01", tenant="vision", size=4, arrive=0, duration=5):
    return cluster.Gang(name, tenant, size, arrive, duration)


def _train(pod, node, gpu):
    return {"pod": pod, "node": node, "gpu": gpu}


def _infer(pod, gpu, start, node="n7"):
    return {"pod": pod, "node": node, "gpu": gpu, "start": start}


def _run(trace, *answers):
    return cluster.simulate(trace, Scripted(*({"bindings": a} for a in answers)))


# -- the model --------------------------------------------------------------------------


def test_mig_profiles_follow_nvidias_placements_for_80gb_cards():
    starts = {name: profile["starts"] for name, profile in cluster.PROFILES.items()}
    assert starts == {
        "1g.10gb": [0, 1, 2, 3, 4, 5, 6],
        "2g.20gb": [0, 2, 4],
        "3g.40gb": [0, 4],
        "4g.40gb": [0],
        "7g.80gb": [0],
    }
    for profile in cluster.PROFILES.values():
        # Every allowed placement lies inside the GPU's 8 memory slices.
        assert max(profile["starts"]) + profile["memory"] <= cluster.MEMORY_SLICES
    assert cluster.ISLAND_GANG_LIMIT == 16


def test_traces_repeat_for_a_seed_and_change_with_it():
    for name in cluster.TRACES:
        assert cluster.make_trace(7, name) == cluster.make_trace(7, name)
        assert cluster.make_trace(7, name) != cluster.make_trace(8, name)
    with pytest.raises(ValueError):
        cluster.make_trace(7, "calm")


def test_every_gang_fits_its_tenants_quota_and_borrowing():
    for seed in range(30):
        for name in cluster.TRACES:
            for gang in cluster.make_trace(seed, name).gangs:
                quota = cluster.TENANTS[gang.tenant]
                assert gang.size <= quota["nominal"] + quota["borrowing_limit"]


def test_a_run_repeats_event_for_event():
    first = run(reference, CHECK_SEED, "incident")
    again = run(reference, CHECK_SEED, "incident")
    assert first.events == again.events
    assert first.gang_waits == again.gang_waits
    assert (first.used_gpu_cycles, first.pending_gpu_cycles) == (
        again.used_gpu_cycles,
        again.pending_gpu_cycles,
    )


def test_a_whole_gang_bound_at_once_starts_and_finishes():
    pods = _gang().pods()
    result = _run(_trace([_gang()]), [_train(p, "n0", k) for k, p in enumerate(pods)])
    assert not result.violations
    assert result.gangs_started == 1 and result.gang_waits == {"train-01": 0}
    assert any("finish gang train-01" in line for line in result.events)


def test_pods_are_created_four_per_cycle():
    gang = _gang(size=8)
    scheduler = Scripted()
    cluster.simulate(_trace([gang]), scheduler)
    first, second = scheduler.messages[1:3]
    assert [p["pod"] for p in first["pending"]] == gang.pods()[:4]
    assert [p["pod"] for p in second["pending"]] == gang.pods()


@pytest.mark.parametrize(
    ("bindings", "reason"),
    [
        ([_train("train-01-9", "n0", 0)], "no such pod"),
        ([_train("train-01-0", "n0", 0), _train("train-01-0", "n0", 1)], "twice"),
        ([_train("train-01-0", "n0", 0), _train("train-01-1", "n0", 0)], "held by"),
        ([_train("train-01-0", "n7", 0)], "a MIG GPU"),
        ([_train("train-01-0", "n9", 0)], "no such GPU"),
    ],
)
def test_the_cluster_refuses_training_bindings_it_cannot_carry_out(bindings, reason):
    result = _run(_trace([_gang(size=2)]), bindings)
    refused = [v for v in result.violations if v.kind == "refused"]
    assert len(refused) == 1 and reason in refused[0].text
    assert result.cycles == cluster.HORIZON or result.gangs_started == 0


def test_a_refused_binding_refuses_the_rest_of_its_gang():
    bindings = [_train("train-01-0", "n0", 0), _train("train-01-1", "n7", 0)]
    result = _run(_trace([_gang(size=2)]), bindings)
    assert result.count("refused") == 1
    assert result.count("partly-bound") == 0  # nothing of the gang was bound


def test_a_tenant_past_its_quota_and_borrowing_limit_is_refused():
    limit = cluster.TENANTS["speech"]["nominal"] + cluster.TENANTS["speech"]["borrowing_limit"]
    gangs = [
        _gang("train-01", "speech", 8, duration=50),
        _gang("train-02", "speech", 8, duration=50),
        _gang("train-03", "speech", 8, duration=50),
    ]
    assert 16 <= limit < 24
    whole = [(n, k) for n in ("n0", "n1", "n2") for k in range(8)]
    answers = [
        [],
        [_train(p, *whole[k]) for k, p in enumerate(gangs[0].pods() + gangs[1].pods())],
        [_train(p, *whole[16 + k]) for k, p in enumerate(gangs[2].pods())],
    ]
    result = _run(_trace(gangs), *answers)
    refused = [v.text for v in result.violations if v.kind == "refused"]
    assert len(refused) == 1 and "past its nominal quota" in refused[0]
    assert result.count("partly-bound") == 0


@pytest.mark.parametrize(
    ("profile", "bindings", "reason"),
    [
        ("3g.40gb", [_infer("infer-001", 0, 2)], "may start at memory slice"),
        ("1g.10gb", [_infer("infer-001", 0, 7)], "may start at memory slice"),
        ("2g.20gb", [_infer("infer-001", 0, None)], "may start at memory slice"),
        ("1g.10gb", [_infer("infer-001", 0, 0, node="n0")], "a whole GPU"),
    ],
)
def test_the_cluster_refuses_mig_instances_the_hardware_does_not_allow(profile, bindings, reason):
    result = _run(_trace(inference=[cluster.Inference("infer-001", profile, 0, 5)]), bindings)
    refused = [v.text for v in result.violations if v.kind == "refused"]
    assert len(refused) == 1 and reason in refused[0]


def test_mig_instances_may_not_overlap_on_one_gpu():
    pods = [
        cluster.Inference("infer-001", "4g.40gb", 0, 50),
        cluster.Inference("infer-002", "3g.40gb", 0, 50),
        cluster.Inference("infer-003", "1g.10gb", 0, 50),
    ]
    answers = [_infer("infer-001", 0, 0), _infer("infer-002", 0, 4), _infer("infer-003", 0, 3)]
    result = _run(_trace(inference=pods), answers)
    refused = [v.text for v in result.violations if v.kind == "refused"]
    assert result.inference_started == 2
    assert len(refused) == 1 and "infer-003" in refused[0] and "taken" in refused[0]


def test_a_partly_bound_gang_is_bound_but_counted_once():
    gang = _gang(size=4)
    result = _run(_trace([gang]), [_train("train-01-0", "n0", 0)], [], [])
    assert result.count("partly-bound") == 1
    assert result.gangs_started == 0


def test_a_gang_that_fits_one_island_but_is_spread_is_counted():
    gang = _gang(size=2)
    result = _run(_trace([gang]), [_train("train-01-0", "n0", 0), _train("train-01-1", "n2", 0)])
    assert result.count("spread") == 1 and result.gangs_started == 1
    big = _gang(size=24, tenant="language")
    pods = big.pods()
    spots = [(n, k) for n in ("n0", "n1", "n2") for k in range(8)]
    answers = [[], [], [], [], [], [_train(p, *spots[k]) for k, p in enumerate(pods)]]
    result = _run(_trace([big]), *answers)
    assert not result.violations and result.gangs_started == 1  # larger than any island


@pytest.mark.parametrize(
    "answer",
    [
        [],
        {"bind": []},
        {"bindings": [{"pod": "x", "node": "n0", "gpu": "0"}]},
        {"bindings": [{"pod": "x", "node": "n0", "gpu": True}]},
        {"bindings": ["x n0 0"]},
    ],
)
def test_an_answer_of_the_wrong_form_ends_the_run(answer):
    with pytest.raises(cluster.SchedulerError):
        cluster.simulate(_trace([_gang()]), Scripted(answer))


def test_more_bindings_than_waiting_pods_end_the_run():
    flood = [_train("train-01-0", "n0", k % 8) for k in range(5)]
    with pytest.raises(cluster.SchedulerError, match="at most one binding per waiting pod"):
        cluster.simulate(_trace([_gang()]), Scripted({"bindings": flood}))


def test_the_starter_deadlocks_every_incident_and_the_reference_never_breaks_a_rule():
    for seed in range(60):
        stuck = run(starter, seed, "incident")
        assert stuck.deadlock is not None, seed
        assert stuck.deadlock.holders, seed
        fixed = run(reference, seed, "incident")
        assert not fixed.violations and fixed.deadlock is None and fixed.progress == 1, seed
    for name in ("mig-heavy", "quota-burst"):
        for seed in range(15):
            fixed = run(reference, seed, name)
            assert not fixed.violations and fixed.progress == 1, (name, seed)


def _replay_holders(result):
    """The holders as the README tells a learner to find them in events.log."""
    held, started = {}, set()
    for line in result.events:
        if bind := re.match(r"cycle +\d+ bind (train-\d+-\d+) -> (n\d)/gpu(\d)$", line):
            held[bind.group(1)] = (bind.group(2), int(bind.group(3)))
        if begun := re.match(r"cycle +\d+ start gang (train-\d+) ", line):
            started.add(begun.group(1))
    gang = result.deadlock.gang
    return {
        (pod, node, gpu)
        for pod, (node, gpu) in held.items()
        if pod.rsplit("-", 1)[0] not in started | {gang}
    }


def test_the_expected_holders_follow_the_readme_definition():
    for seed in (CHECK_SEED, 1, 2, 3):
        result = run(starter, seed, "incident")
        assert set(result.deadlock.holders) == _replay_holders(result)
        assert result.events[-1].split()[2:5] == ["deadlock:", "gang", result.deadlock.gang]
    solution = json.loads((LAB / "solution" / "diagnosis.json").read_text())
    deadlock = run(starter, CHECK_SEED, "incident").deadlock
    assert diagnosis.grade_pending(solution, deadlock.gang, deadlock.cycle).passed
    assert diagnosis.grade_holders(solution, deadlock.holders, deadlock.gang, 0).passed


# -- part A: parsing and credit -----------------------------------------------------------

WANT = tuple((f"train-10-{k}", f"n{k % 4}", k % 8) for k in range(20))


def _entries(triples):
    return [{"pod": p, "node": n, "gpu": g} for p, n, g in triples]


def test_diagnosis_must_be_one_json_object():
    assert diagnosis.parse(None)[0] is None
    for bad in (b"not json", b"[1, 2]", b"\xff\xfe"):
        answers, problem = diagnosis.parse(bad)
        assert answers is None and "diagnosis.json" in problem


def test_honest_forms_of_a_holder_are_read():
    assert diagnosis.read_holder({"pod": "train-10-0", "node": "n0", "gpu": 5}) == (
        "train-10-0",
        "n0",
        5,
    )
    assert diagnosis.read_holder({"pod": "train-10-0", "node": "n0", "gpu": "5"})[2] == 5
    assert diagnosis.read_holder({"pod": "train-10-0", "node": "n0", "gpu": "gpu5"})[2] == 5
    assert diagnosis.read_holder("train-10-0 -> n0/gpu5") == ("train-10-0", "n0", 5)
    assert diagnosis.read_holder("train-10-0 n0/gpu5") == ("train-10-0", "n0", 5)


@pytest.mark.parametrize(
    "entry",
    [
        {"pod": "train-10-0", "node": "n0", "gpu": "5 or 6"},
        {"pod": "train-10-0", "node": "n0", "gpu": [5, 6]},
        {"pod": "train-10-0", "node": "n0", "gpu": True},
        {"pod": "train-10-0", "node": "n0"},
        "train-10-0 -> n0/gpu5 or n0/gpu6",
        ["train-10-0", "n0", 5],
    ],
)
def test_a_holder_that_names_more_or_less_than_one_gpu_is_not_read(entry):
    assert diagnosis.read_holder(entry) is None


def test_pending_job_names_exactly_one_gang():
    assert diagnosis.grade_pending({"pending_job": " train-08 "}, "train-08", 96).passed
    for wrong in ("train-08 or train-10", ["train-08"], "train-10", "", None):
        graded = diagnosis.grade_pending({"pending_job": wrong}, "train-08", 96)
        assert not graded.passed and graded.score == 0


def test_holder_credit_has_no_cliff():
    previous = 0.0
    for k in range(1, len(WANT) + 1):
        graded = diagnosis.grade_holders({"holders": _entries(WANT[:k])}, WANT, "train-08", 96)
        # One more right holder never adds more than a fair share of the points.
        assert 0 < graded.score - previous <= diagnosis.HOLDER_POINTS * 2 / len(WANT)
        previous = graded.score
    assert previous == diagnosis.HOLDER_POINTS
    half = diagnosis.grade_holders({"holders": _entries(WANT[:10])}, WANT, "train-08", 96)
    assert abs(half.score - diagnosis.HOLDER_POINTS * 2 / 3) < 0.01  # F1 of P=1, R=0.5


def test_spraying_and_repeating_holders_cost_precision():
    others = [(f"train-08-{k}", "n1", k % 8) for k in range(40)]
    spray = diagnosis.grade_holders({"holders": _entries(list(WANT) + others)}, WANT, "x", 1)
    assert spray.score < diagnosis.HOLDER_POINTS * 0.55
    twice = diagnosis.grade_holders({"holders": _entries(list(WANT) * 2)}, WANT, "x", 1)
    assert abs(twice.score - diagnosis.HOLDER_POINTS * 2 / 3) < 0.01
    assert "repeat" in twice.output
    unread = _entries(WANT) + ["no idea"] * 20
    assert diagnosis.grade_holders({"holders": unread}, WANT, "x", 1).score == twice.score


def test_no_holders_earns_nothing():
    for answers in ({}, {"holders": []}, {"holders": "train-10-0 -> n0/gpu0"}):
        graded = diagnosis.grade_holders(answers, WANT, "x", 1)
        assert graded.score == 0 and not graded.passed


# -- part B: runs and credit ---------------------------------------------------------------


def test_hidden_runs_repeat_for_a_seed_and_are_not_the_visible_one():
    assert scoring.hidden_runs(CHECK_SEED) == scoring.hidden_runs(CHECK_SEED)
    assert scoring.hidden_runs(CHECK_SEED) != scoring.hidden_runs(CHECK_SEED + 1)
    hidden = {seed for seed, _ in scoring.hidden_runs(CHECK_SEED)}
    assert CHECK_SEED not in hidden and len(hidden) == len(scoring.HIDDEN_TRACES)
    guesses = {CHECK_SEED + k for k in range(-100, 100)} | {CHECK_SEED * k for k in range(100)}
    assert not hidden & guesses
    assert scoring.HIDDEN_SALT not in (LAB / "README.md").read_text()


def test_falling_and_rising_credits_move_linearly():
    assert scoring.falling(5, 10, 20) == 1 and scoring.falling(25, 10, 20) == 0
    assert scoring.falling(15, 10, 20) == pytest.approx(0.5)
    assert scoring.rising(0.5, 0.35, 0.65) == pytest.approx(0.5)
    assert scoring.rising(0.7, 0.35, 0.65) == 1 and scoring.rising(0.2, 0.35, 0.65) == 0


def test_a_run_with_any_violation_earns_nothing():
    ref = run(reference, CHECK_SEED, "incident")
    assert scoring.verdict(ref, ref).credit == 1
    broken = run(starter, CHECK_SEED, "incident")
    found = scoring.verdict(broken, ref)
    assert found.credit == 0 and "not safe" in found.lines[0]
    assert scoring.verdict(None, ref, "it crashed").credit == 0


def _with(result, **fields):
    import dataclasses

    return dataclasses.replace(result, **fields)


def test_efficiency_falls_smoothly_with_the_gang_wait():
    ref = run(reference, CHECK_SEED, "incident")
    waits = ref.gang_waits
    credits = []
    for extra in range(0, 400, 20):
        slower = _with(ref, gang_waits={name: wait + extra for name, wait in waits.items()})
        credits.append(scoring.verdict(slower, ref).credit)
    assert credits[0] == 1 and credits[-1] == pytest.approx(
        scoring.BASE_SHARE + scoring.EFFICIENCY_SHARE * (1 - scoring.WEIGHTS["gang wait"])
    )
    steps = [a - b for a, b in zip(credits, credits[1:], strict=False)]
    assert all(0 <= step < 0.05 for step in steps)


def test_one_gang_at_a_time_loses_most_of_the_efficiency_share():
    serial = check.load_module("solution/scheduler.py")

    class OneAtATime(serial.Scheduler):
        def schedule(self, state):
            busy = any(not g["mig"] and g["pod"] for g in state["gpus"])
            if busy:
                state = {**state, "gangs": []}
            else:
                state = {**state, "gangs": sorted(state["gangs"], key=lambda g: g["arrived"])[:1]}
            return super().schedule(state)

    serial.Scheduler = OneAtATime
    ref = run(reference, CHECK_SEED, "incident")
    slow = run(serial, CHECK_SEED, "incident")
    assert not slow.violations
    assert scoring.verdict(slow, ref).credit < 0.5


def test_the_checker_uses_only_the_harness_public_api():
    assert private_uses(LAB, imported_from="downstack_harness") == []
