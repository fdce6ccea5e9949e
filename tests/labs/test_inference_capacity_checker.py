"""The pure logic of inference-capacity's checker: plan.json's rules, the queueing model,
the optimum, the days and the credit formula.

The checker's modules are imported from its folder as the sandbox gives it
(tests/labs/checker_modules.py): grader/ with starter/simulate.py and
starter/benchmarks.csv beside it. Nothing here starts a process or needs Docker.
"""

import json
import math
import random

import pytest

from tests.labs.checker_modules import ROOT, load_checker

LAB = ROOT / "labs" / "inference-capacity"

_, _modules = load_checker("inference-capacity", ("check", "simulate", "optimum", "scoring"))
check, simulate, optimum, scoring = (
    _modules[name] for name in ("check", "simulate", "optimum", "scoring")
)
TABLE = simulate.load_benchmarks()
REFERENCE = (LAB / "solution" / "plan.json").read_bytes()


def _plan(**changes) -> bytes:
    raw = json.loads(REFERENCE)
    rule = changes.pop("autoscaling", None)
    raw.update(changes)
    if rule is not None:
        raw["autoscaling"] = rule if rule == "null" else {**raw["autoscaling"], **rule}
    if rule == "null":
        raw["autoscaling"] = None
    return json.dumps(raw).encode()


@pytest.fixture(scope="module")
def day():
    return simulate.make_trace(check.DEFAULT_SEED)


# -- plan.json's rules -------------------------------------------------------------------


def test_the_reference_plan_parses():
    plan = simulate.parse_plan(REFERENCE, TABLE)
    assert (plan.instance, plan.batch_size) == ("A100-80GB", 16)
    assert plan.autoscaling.metric == "in_flight"


def test_honest_forms_are_read():
    plan = simulate.parse_plan(
        _plan(instance=" a100-80gb ", autoscaling={"min": 4.0, "window_s": 600.0}), TABLE
    )
    assert plan.instance == "A100-80GB"
    assert plan.autoscaling.min == 4 and plan.autoscaling.window_s == 600
    assert simulate.parse_plan(_plan(autoscaling="null"), TABLE).autoscaling is None


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"not json", "not valid JSON"),
        (b"[1, 2]", "one JSON object"),
        (b"\xff\xfe", "not valid JSON"),
        (json.dumps({"instance": "L4"}).encode(), "lacks batch_size"),
        (_plan(colour="blue"), "does not take: colour"),
        (_plan(instance="A100-80GB or H100-80GB"), "exactly one GPU type"),
        (_plan(instance=["A100-80GB"]), "exactly one GPU type"),
        (_plan(instance="A100"), "exactly one GPU type"),
        (_plan(batch_size=12), "batch_size must be one of"),
        (_plan(batch_size=True), "batch_size must be one of"),
        (_plan(batch_size=128), "batch_size must be one of"),  # H100's, not the A100's
        (_plan(replicas_per_hour=[1] * 23), "list of 24"),
        (_plan(replicas_per_hour=[1] * 23 + [-1]), "replicas_per_hour[23] must be from 0"),
        (_plan(replicas_per_hour=[1] * 23 + [65]), "must be from 0 to 64"),
        (_plan(replicas_per_hour=[1] * 23 + [1.5]), "whole number"),
        (_plan(autoscaling={"metric": "gpu_utilisation"}), "autoscaling.metric must be one of"),
        (_plan(autoscaling={"target_per_replica": 0}), "above 0"),
        (_plan(autoscaling={"target_per_replica": "14"}), "must be a number"),
        (_plan(autoscaling={"min": 5, "max": 4}), "must not be below"),
        (_plan(autoscaling={"window_s": 90}), "multiple of 60"),
        (_plan(autoscaling={"window_s": 3600}), "from 60 to 1800"),
        (_plan(autoscaling={"cooldown": 5}), "does not take: cooldown"),
    ],
)
def test_a_plan_that_breaks_a_rule_is_refused_with_the_rule(data, words):
    with pytest.raises(simulate.PlanError) as refused:
        simulate.parse_plan(data, TABLE)
    assert words in str(refused.value)


def test_nan_is_not_a_target():
    data = REFERENCE.replace(b'"target_per_replica": 14.5', b'"target_per_replica": NaN')
    with pytest.raises(simulate.PlanError):
        simulate.parse_plan(data, TABLE)


# -- the benchmark table -------------------------------------------------------------------


def _per_request_cost(bench, tokens_in=1900, tokens_out=400) -> float:
    seconds = (
        simulate.PREFILL_OVERHEAD_S
        + tokens_in / bench.prefill_tokens_per_s
        + tokens_out * bench.time_per_output_token_ms / 1000
    )
    return bench.price_per_hour / 3600 * seconds / bench.batch_size


def test_the_cheapest_tokens_cannot_meet_the_slo(day):
    cheapest = min(TABLE.values(), key=_per_request_cost)
    assert cheapest.instance == "L4"
    for bench in TABLE.values():
        if bench.instance == "L4" or bench.batch_size >= 64:
            assert optimum.prompts_miss_slo(day, bench), bench
    assert not optimum.prompts_miss_slo(day, TABLE[("A100-80GB", 16)])
    assert optimum.prompts_miss_slo(day, TABLE[("A100-80GB", 32)])


def test_bigger_batches_buy_throughput_with_ttft():
    for instance in ("L4", "A10G", "A100-80GB", "H100-80GB"):
        rows = sorted(
            (b for b in TABLE.values() if b.instance == instance), key=lambda b: b.batch_size
        )
        for small, big in zip(rows, rows[1:], strict=False):
            assert big.decode_tokens_per_s > small.decode_tokens_per_s
            assert big.ttft_p95_ms > small.ttft_p95_ms


# -- the trace and the model -------------------------------------------------------------


def test_a_day_repeats_for_its_seed_and_changes_with_it(day):
    again = simulate.make_trace(check.DEFAULT_SEED)
    assert again.arrivals == day.arrivals and again.output_tokens == day.output_tokens
    assert simulate.make_trace(check.DEFAULT_SEED + 1).arrivals != day.arrivals
    assert day.arrivals == sorted(day.arrivals)
    assert day.arrivals[0] < 0 <= day.arrivals[-1] < 86400  # the warm-up hour, then the day


def test_a_replay_is_deterministic(day):
    plan = simulate.parse_plan(REFERENCE, TABLE)
    first, second = simulate.replay(day, plan, TABLE), simulate.replay(day, plan, TABLE)
    assert first == second
    assert len(first.hours) == 24 and len(first.replicas_by_minute) == 24 * 60


def test_the_day_p95_is_the_nearest_rank_of_all_hours():
    rng = random.Random(5)
    for _ in range(50):
        hours = [
            sorted(rng.expovariate(1.0) for _ in range(rng.randrange(0, 40))) for _ in range(24)
        ]
        every = [value for values in hours for value in values]
        expected = simulate.nearest_rank(every, 95) if every else None
        assert simulate.day_p95(hours) == expected


def _tiny_trace(arrivals, tokens_in=100, tokens_out=10):
    return simulate.Trace(7, arrivals, [tokens_in] * len(arrivals), [tokens_out] * len(arrivals))


def test_a_new_replica_serves_only_after_its_cold_start():
    bench = TABLE[("A100-80GB", 1)]
    prefill = simulate.PREFILL_OVERHEAD_S + 100 / bench.prefill_tokens_per_s
    # One slot, taken by an hours-long answer; the fleet grows to two at minute 1, and
    # the second request, there since 0:00, is served when the new replica is ready.
    trace = _tiny_trace([0.0, 0.0], tokens_out=3_000_000)
    served = simulate.serve(trace, bench, lambda minute, *_: 1 if minute < 1 else 2, 0, 60)
    ready_at = (1 + simulate.COLD_START_MIN) * 60
    assert served.hours[0].p95_ttft_ms == pytest.approx((ready_at + prefill) * 1000)
    assert served.replicas_by_minute[:3] == [1, 2, 2]  # billed from minute 1


def test_a_fleet_of_zero_never_answers_and_misses_the_slo():
    trace = _tiny_trace([10.0, 20.0])
    served = simulate.serve(trace, TABLE[("A100-80GB", 16)], lambda *_: 0, 0, 60)
    assert served.p95_ttft_ms == math.inf and not served.meets_slo
    assert served.cost == 0


def test_scaling_in_stops_the_bill_at_once(day):
    plan = simulate.parse_plan(
        _plan(autoscaling="null", replicas_per_hour=[3] * 12 + [1] * 12), TABLE
    )
    served = simulate.replay(day, plan, TABLE)
    price = TABLE[("A100-80GB", 16)].price_per_hour
    assert served.hours[11].cost == pytest.approx(3 * price)
    assert served.hours[12].cost == pytest.approx(1 * price)


def test_the_autoscaler_scales_in_only_after_its_window():
    plan = simulate.parse_plan(
        _plan(
            autoscaling={
                "metric": "queue_depth",
                "target_per_replica": 1,
                "min": 0,
                "window_s": 300,
            }
        ),
        TABLE,
    )
    rule = simulate.Rule(plan, _tiny_trace([0.0]))
    rule.replicas(-60, 0, 0)  # the warm-up's first minute starts at max
    counts = [
        rule.replicas(minute, 0, queued) for minute, queued in enumerate([0] * 5 + [7] + [0] * 6)
    ]
    assert counts[5] == 7  # out at once
    assert counts[5:10] == [7] * 5 and counts[10] == 0  # in after the 5-minute window


# -- scoring -----------------------------------------------------------------------------


def test_cost_credit_is_full_near_the_optimum_and_falls_linearly():
    assert scoring.cost_credit(0.8) == 1.0
    assert scoring.cost_credit(scoring.FULL_WITHIN) == 1.0
    middle = (scoring.FULL_WITHIN + scoring.ZERO_AT) / 2
    assert scoring.cost_credit(middle) == pytest.approx(0.5)
    assert scoring.cost_credit(2.0) == 0.0
    assert scoring.cost_credit(3.5) == 0.0


def test_cost_credit_has_no_cliff():
    ratios = [1.0 + step / 100 for step in range(120)]
    credits = [scoring.cost_credit(ratio) for ratio in ratios]
    slope = 0.01 / (scoring.ZERO_AT - scoring.FULL_WITHIN)
    for near, far in zip(credits, credits[1:], strict=False):
        assert 0 <= near - far <= slope + 1e-12


def _replay(p95_ms, hour_p95_ms, cost):
    hour = simulate.Hour(0, 100, hour_p95_ms, 1.0, cost, 0.5)
    return simulate.Replay([hour], p95_ms, cost, [1] * 60)


def test_a_day_that_misses_the_slo_earns_nothing_whatever_it_costs():
    assert scoring.judge_day(_replay(801, 700, 50.0), 100.0).credit == 0.0
    assert scoring.judge_day(_replay(700, 1201, 50.0), 100.0).credit == 0.0
    held = scoring.judge_day(_replay(700, 1200, 110.0), 100.0)
    assert held.credit == 1.0 and held.slo_held
    middle = (scoring.FULL_WITHIN + scoring.ZERO_AT) / 2
    wasteful = scoring.judge_day(_replay(500, 600, middle * 100), 100.0)
    assert wasteful.credit == pytest.approx(0.5) and "50%" in wasteful.summary


def test_hidden_days_repeat_for_a_seed_and_cannot_be_the_learners():
    seeds = scoring.hidden_seeds(check.DEFAULT_SEED)
    assert seeds == scoring.hidden_seeds(check.DEFAULT_SEED)
    assert len(set(seeds)) == scoring.HIDDEN_DAYS and check.DEFAULT_SEED not in seeds
    assert scoring.hidden_seeds(check.DEFAULT_SEED + 1) != seeds


def test_the_points_add_up_to_ten():
    assert scoring.PREVIEW_POINTS + scoring.HIDDEN_POINTS == 10


# -- the optimum -------------------------------------------------------------------------


def test_the_optimum_meets_the_slo_and_the_reference_and_starter_land_where_they_should(day):
    best = optimum.optimum([day], TABLE)
    assert best.days[0].meets_slo
    assert best.plan.autoscaling.metric == "in_flight"
    reference = simulate.replay(day, simulate.parse_plan(REFERENCE, TABLE), TABLE)
    starter = (LAB / "starter" / "plan.json").read_bytes()
    wasteful = simulate.replay(day, simulate.parse_plan(starter, TABLE), TABLE)
    assert reference.meets_slo and wasteful.meets_slo
    assert scoring.judge_day(reference, best.cost).credit == 1.0
    assert scoring.judge_day(wasteful, best.cost).credit == 0.0
    # The optimum's target is the highest that holds: a step higher misses the SLO.
    bench = TABLE[(best.plan.instance, best.plan.batch_size)]
    higher = best.plan.autoscaling.target_per_replica + 2 * optimum.TARGET_STEP * bench.batch_size
    if higher <= bench.batch_size:
        assert not simulate.replay(day, optimum.optimum_plan(bench, higher), TABLE).meets_slo
