"""Part B: which traces a scheduler is graded on, and how one run earns its credit.

The visible trace is the learner's own incident (their seed): simulate.py replays it,
so a scheduler could recognise it, and it is a preview worth a small share. The hidden
traces carry the weight: one of each trace shape, on seeds drawn from the learner's
seed mixed with a salt that exists only in this file, the same for the same seed.

A run's credit, between 0 and 1 (the README states every bound):

    credit = safe x progress x (BASE_SHARE + EFFICIENCY_SHARE x efficiency)

- safe: 1 when no binding was refused, no gang was ever left partly bound at the end of
  a cycle and no gang that fits in one NVLink island was spread over several; else 0.
- progress: the mean of the share of gangs and the share of inference pods that started.
- efficiency: three credits against the reference scheduler on the same trace, each
  moving linearly between a bound where it is full and one where it is gone, weighted
  (WEIGHTS): the mean gang wait (full up to 3 x the reference's + 20 cycles, none from
  8 x + 100), the utilisation of the whole GPUs while a gang waits (full from 65% of the
  reference's, none at 35%) and the mean inference wait (full up to 2 x + 10 cycles,
  none from 6 x + 40).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from cluster import Result

VISIBLE_TRACE = "incident"
HIDDEN_TRACES = ("incident", "mig-heavy", "quota-burst")
# Changing the salt changes every learner's hidden traces (and so can change grades).
HIDDEN_SALT = "c41f9a07e2b85d3361a0f7c9be24d851"
SEED_SPACE = 2**31
# The bounds leave room for other sensible designs: strict FIFO admission (Kueue's
# StrictFIFO) waits up to twice as long as the reference's backfilling, and a reservation
# for the oldest gang leaves GPUs idle for it (73% of the reference's utilisation at
# worst). What they separate is admitting one gang at a time: ten times the wait and a
# quarter of the utilisation.
BASE_SHARE, EFFICIENCY_SHARE = 0.25, 0.75
WEIGHTS = {"gang wait": 0.4, "utilisation": 0.4, "inference wait": 0.2}
GANG_WAIT_FULL, GANG_WAIT_ZERO = (3.0, 20.0), (8.0, 100.0)  # (times the reference's, plus)
INFERENCE_WAIT_FULL, INFERENCE_WAIT_ZERO = (2.0, 10.0), (6.0, 40.0)
UTILISATION_ZERO, UTILISATION_FULL = 0.35, 0.65  # of the reference's
SHOWN_VIOLATIONS = 5


def visible_runs(seed: int) -> list[tuple[int, str]]:
    return [(seed, VISIBLE_TRACE)]


def hidden_seed(seed: int, index: int) -> int:
    digest = hashlib.sha256(f"{HIDDEN_SALT}:{seed}:{index}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % SEED_SPACE


def hidden_runs(seed: int) -> list[tuple[int, str]]:
    """(seed, trace) of the runs only the checker knows, the same for the same seed."""
    return [(hidden_seed(seed, index), trace) for index, trace in enumerate(HIDDEN_TRACES)]


def falling(value: float, full: float, zero: float) -> float:
    """1 up to `full`, 0 from `zero` on, linear between: for measures where less is better."""
    if value <= full:
        return 1.0
    if value >= zero:
        return 0.0
    return (zero - value) / (zero - full)


def rising(value: float, zero: float, full: float) -> float:
    """0 up to `zero`, 1 from `full` on, linear between: for measures where more is better."""
    return 1.0 - falling(value, zero, full)


def bound(reference: float, times_plus: tuple[float, float]) -> float:
    times, plus = times_plus
    return times * reference + plus


@dataclass(frozen=True)
class Verdict:
    credit: float  # 0 to 1
    lines: tuple[str, ...]  # what was measured, against what


def efficiency(mine: Result, ref: Result) -> tuple[float, list[str]]:
    gang = falling(
        mine.mean_gang_wait,
        bound(ref.mean_gang_wait, GANG_WAIT_FULL),
        bound(ref.mean_gang_wait, GANG_WAIT_ZERO),
    )
    pods = falling(
        mine.mean_inference_wait,
        bound(ref.mean_inference_wait, INFERENCE_WAIT_FULL),
        bound(ref.mean_inference_wait, INFERENCE_WAIT_ZERO),
    )
    share = mine.utilisation / ref.utilisation if ref.utilisation else 1.0
    utilisation = rising(share, UTILISATION_ZERO, UTILISATION_FULL)
    lines = [
        f"mean gang wait {mine.mean_gang_wait:.1f} cycles (the reference: "
        f"{ref.mean_gang_wait:.1f}; full credit up to "
        f"{bound(ref.mean_gang_wait, GANG_WAIT_FULL):.1f}): credit {gang:.2f}",
        f"mean inference wait {mine.mean_inference_wait:.1f} cycles (the reference: "
        f"{ref.mean_inference_wait:.1f}; full credit up to "
        f"{bound(ref.mean_inference_wait, INFERENCE_WAIT_FULL):.1f}): credit {pods:.2f}",
        f"utilisation while a gang waited {mine.utilisation:.1%} (the reference: "
        f"{ref.utilisation:.1%}, {share:.0%} of it): credit {utilisation:.2f}",
    ]
    credits = {"gang wait": gang, "utilisation": utilisation, "inference wait": pods}
    return sum(WEIGHTS[name] * credit for name, credit in credits.items()), lines


def verdict(mine: Result | None, ref: Result, problem: str = "") -> Verdict:
    """One run's credit and what it showed; `mine` None: the run did not complete."""
    if mine is None:
        return Verdict(0.0, (f"the run did not complete: {problem}",))
    lines = []
    if mine.violations:
        kinds = ", ".join(
            f"{mine.count(kind)} {label}"
            for kind, label in (
                ("partly-bound", "gangs left partly bound"),
                ("spread", "gangs spread over islands"),
                ("refused", "bindings refused"),
            )
            if mine.count(kind)
        )
        lines.append(f"not safe: {kinds}; the run earns nothing. The first of them:")
        lines += [f"  cycle {v.cycle}: {v.text}" for v in mine.violations[:SHOWN_VIOLATIONS]]
    if mine.deadlock:
        lines.append(
            f"deadlock at cycle {mine.deadlock.cycle}: gang {mine.deadlock.gang} held hostage "
            "by partly bound gangs; the simulation stopped there"
        )
    safe = 0.0 if mine.violations else 1.0
    gangs, pods = mine.trace.gangs, mine.trace.inference
    lines.append(
        f"progress {mine.progress:.2f}: {mine.gangs_started} of {len(gangs)} gangs and "
        f"{mine.inference_started} of {len(pods)} inference pods started by cycle {mine.cycles}"
    )
    score, measured = efficiency(mine, ref)
    lines += measured
    credit = safe * mine.progress * (BASE_SHARE + EFFICIENCY_SHARE * score)
    lines.append(
        f"credit = safe {safe:g} x progress {mine.progress:.2f} x ({BASE_SHARE:g} + "
        f"{EFFICIENCY_SHARE:g} x efficiency {score:.2f}) = {credit:.2f}"
    )
    return Verdict(credit, tuple(lines))
