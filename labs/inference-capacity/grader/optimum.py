"""The optimum a plan's cost is measured against: the cheapest plan the checker finds.

The checker grades a plan on several days (the learner's own and hidden ones) and looks
for the cheapest single plan that keeps all of those days within the SLO, knowing
them in advance: for each row of the benchmark table (GPU type and batch size), an
autoscaler on requests in flight with no schedule, min 1, max MAX_REPLICAS and a
ten-minute window, at the highest target_per_replica that still meets the SLO on
every one of the days. The cheapest row's plan is the optimum, and a day's optimum
cost is what that plan costs on that day. A plan may beat it (a schedule as a floor,
another metric or window); its cost credit is then simply full.

The search: a row whose prompts alone (with no queueing at all) miss the SLO on some
day is ruled out. The others are ordered by a lower bound on their cost (the replicas
whose slots could carry each hour's work at all), and a row whose bound already costs
more than the best plan found is skipped. Within a row the target is found by
bisection between LOWEST_TARGET and the batch size (a fleet whose every slot is busy
has no room for a queue at all), to TARGET_STEP of the batch size.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

from simulate import (
    HOURS,
    MAX_REPLICAS,
    PREFILL_OVERHEAD_S,
    SLO_P95_MS,
    Autoscaling,
    Benchmark,
    Plan,
    Replay,
    Trace,
    nearest_rank,
    replay,
)

WINDOW_S = 600
LOWEST_TARGET = (0.85, 0.7, 0.5, 0.25)  # of the batch size: where the bisection may start
TARGET_STEP = 0.02  # of the batch size: the bisection stops at this resolution


@dataclass(frozen=True)
class Optimum:
    plan: Plan
    days: tuple[Replay, ...]  # the plan's replay of each day, in the order given

    @property
    def costs(self) -> tuple[float, ...]:
        return tuple(day.cost for day in self.days)

    @property
    def cost(self) -> float:
        return sum(self.costs)


def optimum_plan(bench: Benchmark, target: float) -> Plan:
    rule = Autoscaling("in_flight", round(target, 3), 1, MAX_REPLICAS, WINDOW_S)
    return Plan(bench.instance, bench.batch_size, (0,) * HOURS, rule)


def hour_slices(trace: Trace) -> list[tuple[int, int]]:
    """(first, end) request indices of each hour of the day (the warm-up left out)."""
    bounds = []
    index = 0
    arrivals = trace.arrivals
    for hour in range(HOURS + 1):
        while index < len(arrivals) and arrivals[index] < hour * 3600.0:
            index += 1
        bounds.append(index)
    return list(zip(bounds, bounds[1:], strict=False))


def prompts_miss_slo(trace: Trace, bench: Benchmark) -> bool:
    """Whether the day's p95 prefill alone, with no wait at all, misses the SLO."""
    first = bisect.bisect_left(trace.arrivals, 0.0)
    # Prefill grows with the prompt, so the p95 prefill is the p95 prompt's.
    tokens = nearest_rank(trace.input_tokens[first:], 95)
    return (PREFILL_OVERHEAD_S + tokens / bench.prefill_tokens_per_s) * 1000 > SLO_P95_MS


def cost_bound(trace: Trace, bench: Benchmark, hours: list[tuple[int, int]]) -> float:
    """A lower bound on any plan's cost with this row: each hour, the fewest replicas
    whose slots could carry its service seconds at all."""
    tpot = bench.time_per_output_token_ms / 1000
    replica_hours = 0
    for first, end in hours:
        seconds = (
            (end - first) * PREFILL_OVERHEAD_S
            + sum(trace.input_tokens[first:end]) / bench.prefill_tokens_per_s
            + sum(trace.output_tokens[first:end]) * tpot
        )
        replica_hours += max(1, math.ceil(seconds / (3600 * bench.batch_size)))
    return replica_hours * bench.price_per_hour


def best_target(traces: list[Trace], bench: Benchmark, table: dict) -> Optimum | None:
    """The cheapest plan of the searched form for one row, or None if none meets the SLO."""
    order = list(range(len(traces)))

    def attempt(target: float) -> Optimum | None:
        """The plan's replay of each day, or None when it misses the SLO on one of them."""
        plan = optimum_plan(bench, target)
        days: dict[int, Replay] = {}
        for index in list(order):
            served = replay(traces[index], plan, table)
            if not served.meets_slo:
                order.remove(index)
                order.insert(0, index)  # the day that failed is tried first next time
                return None
            days[index] = served
        return Optimum(plan, tuple(days[index] for index in range(len(traces))))

    for share in LOWEST_TARGET:
        low = share * bench.batch_size
        best = attempt(low)
        if best is not None:
            break
    else:
        return None
    high = float(bench.batch_size)
    while high - low > TARGET_STEP * bench.batch_size:
        middle = (low + high) / 2
        found = attempt(middle)
        if found is None:
            high = middle
        else:
            low = middle
            if found.cost < best.cost:
                best = found
    return best


def optimum(traces: list[Trace], table: dict[tuple[str, int], Benchmark]) -> Optimum:
    """The cheapest plan of the searched form for all of `traces` (see the docstring)."""
    days = [hour_slices(trace) for trace in traces]
    candidates = []
    for index, bench in enumerate(table.values()):
        if any(prompts_miss_slo(trace, bench) for trace in traces):
            continue
        bound = sum(
            cost_bound(trace, bench, hours) for trace, hours in zip(traces, days, strict=True)
        )
        candidates.append((bound, index, bench))
    candidates.sort()
    best: Optimum | None = None
    for bound, _, bench in candidates:
        if best is not None and bound >= best.cost:
            break
        found = best_target(traces, bench, table)
        if found is not None and (best is None or found.cost < best.cost):
            best = found
    if best is None:
        raise ValueError("no row of the benchmark table meets the SLO on these days")
    return best
