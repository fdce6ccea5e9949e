"""How a plan's days are scored, and the days themselves.

Each day a plan is graded on earns a share of the points: nothing if the plan misses
the SLO that day (the day's p95 TTFT over SLO_P95_MS, or an hour's over
HOUR_CAP_P95_MS), whatever it costs; otherwise its cost credit, which is full up to
FULL_WITHIN times the optimum's cost that day and falls linearly to nothing at
ZERO_AT times it, so that waste costs points in proportion and never all at once:

    credit = clamp((ZERO_AT - cost / optimum) / (ZERO_AT - FULL_WITHIN), 0, 1)

The days: the learner's own (DOWNSTACK_SEED, the day simulate.py writes), a preview
worth PREVIEW_POINTS, and HIDDEN_DAYS days drawn from the learner's seed mixed with a
salt that exists only in this file, so no plan can be fitted to them; they are the
same for the same seed every time, so regrading a plan gives the same score.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from simulate import HOUR_CAP_P95_MS, SLO_P95_MS, Replay

FULL_WITHIN = 1.15
ZERO_AT = 2.0
PREVIEW_POINTS = 2.0
HIDDEN_POINTS = 8.0
HIDDEN_DAYS = 3
# Changing the salt changes every learner's hidden days (and so can change grades).
HIDDEN_SALT = "c4f1a7e09b3d4c58a2e6f0b917d3c5e8"
SEED_SPACE = 2**31


def hidden_seeds(seed: int) -> list[int]:
    """The seeds of the hidden days for a learner's seed: the same every time."""
    seeds = []
    for index in range(HIDDEN_DAYS):
        digest = hashlib.sha256(f"{HIDDEN_SALT}:{seed}:{index}".encode()).digest()
        seeds.append(int.from_bytes(digest[:8], "big") % SEED_SPACE)
    return seeds


def cost_credit(ratio: float) -> float:
    """The cost credit of a plan costing `ratio` times the optimum (see the docstring)."""
    return min(1.0, max(0.0, (ZERO_AT - ratio) / (ZERO_AT - FULL_WITHIN)))


@dataclass(frozen=True)
class DayVerdict:
    credit: float
    ratio: float
    slo_held: bool
    summary: str


def judge_day(served: Replay, optimum_cost: float) -> DayVerdict:
    ratio = served.cost / optimum_cost
    slo = describe_slo(served)
    if not served.meets_slo:
        return DayVerdict(
            0.0,
            ratio,
            False,
            f"{slo} The SLO is a gate: a plan that misses it earns nothing for the day, "
            f"whatever it costs (this one cost ${served.cost:,.2f}, {ratio:.2f} times the "
            f"optimum's ${optimum_cost:,.2f}).",
        )
    credit = cost_credit(ratio)
    if credit == 1.0:
        verdict = f"within {FULL_WITHIN:g} times the optimum: full credit."
    elif credit == 0.0:
        verdict = f"{ZERO_AT:g} times the optimum or more: no credit for the cost."
    else:
        verdict = (
            f"over {FULL_WITHIN:g} times the optimum: {credit:.0%} of the credit (it falls "
            f"linearly to nothing at {ZERO_AT:g} times)."
        )
    summary = (
        f"{slo} Cost ${served.cost:,.2f} against the optimum's ${optimum_cost:,.2f}: "
        f"{ratio:.3f} times, {verdict}"
    )
    return DayVerdict(credit, ratio, True, summary)


def describe_slo(served: Replay) -> str:
    day = "no requests" if served.p95_ttft_ms is None else f"{served.p95_ttft_ms:.0f} ms"
    over = served.hours_over_cap
    parts = [f"p95 TTFT over the day {day} (SLO {SLO_P95_MS} ms)"]
    if over:
        listed = ", ".join(f"{hour:02d}:00" for hour in over)
        parts.append(f"hours over the {HOUR_CAP_P95_MS} ms cap: {listed}")
    else:
        parts.append(f"no hour over the {HOUR_CAP_P95_MS} ms cap")
    held = "held" if served.meets_slo else "MISSED"
    return f"SLO {held}: {'; '.join(parts)}."


def hour_table(served: Replay, optimum: Replay) -> str:
    """The plan's replicas, cost and p95 TTFT per hour beside the optimum's."""
    lines = ["hour   replicas  cost($)  p95 TTFT(ms) | optimum: replicas  cost($)"]
    for mine, best in zip(served.hours, optimum.hours, strict=True):
        p95 = "-" if mine.p95_ttft_ms is None else f"{mine.p95_ttft_ms:.0f}"
        flag = "" if mine.within_cap else "  over the cap"
        lines.append(
            f"{mine.hour:02d}:00 {mine.mean_replicas:9.1f} {mine.cost:8.2f} {p95:>13} | "
            f"{best.mean_replicas:17.1f} {best.cost:8.2f}{flag}"
        )
    return "\n".join(lines)
