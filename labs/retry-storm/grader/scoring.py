"""Part B's credit: how a policy's runs compare with the bounds and with the reference's.

Each criterion gives a credit between 0 and 1 that moves linearly between a bound where
it is full and one where it is gone, so that a policy a little worse than a bound loses
a little, never everything (the README states every bound):

- recovery, per run with a trigger: full within RECOVERY_FULL_S seconds of the
  trigger's end, none from RECOVERY_ZERO_S on (or if it never recovers); a run whose
  trigger does not overload the backend (a burst of errors) counts only as far as the
  overloaded runs recovered (its credit is multiplied by their mean credit), since
  even the starter's retries come back from a burst of errors;
- amplification, per run with an overload (slowdown or surge): full up to
  AMPLIFICATION_FULL attempts per request, none from AMPLIFICATION_ZERO; it counts
  only as far as the run recovered (its credit is multiplied by the run's recovery
  credit): not overloading the backend is worth nothing while the users get no answers;
- goodput, over all the runs together: full from GOODPUT_FULL of the answers the
  reference's policy got on the same runs, none at GOODPUT_ZERO;
- herd, per run with batch-job herds: the herds' answered share against the
  reference's, full from HERD_FULL of it, none at HERD_ZERO;
- calm latency, over the calm seconds of all runs: the larger of the p50 and p99
  ratios to the reference's, full up to LATENCY_FULL, none from LATENCY_ZERO, times the
  mean recovery credit (the starter's calm seconds are as fast as anyone's).

A run that could not be completed (the policy crashed, hung or broke the protocol)
earns nothing in any criterion it takes part in and counts no answers.
"""

from __future__ import annotations

from dataclasses import dataclass

from outcomes import Outcome
from simulate import nearest_rank

# The bounds leave room for designs other than the reference's: a circuit breaker, or
# client-side adaptive throttling, retries a little more in a surge, or answers a few
# percent fewer requests while the backend is slow, and is still a fix. What they
# separate is the starter and the half-fixes (no budget: 3 to 5 attempts per request;
# no jitter: about half the reference's herd answered; never retrying: never healthy).
# A calm p99 sits where the network's lost attempts (0.5%) meet their timeouts, so it
# moves with the timeout a design picks: latency is full up to 2.5 times the reference's.
RECOVERY_FULL_S, RECOVERY_ZERO_S = 5, 20
AMPLIFICATION_FULL, AMPLIFICATION_ZERO = 1.8, 2.8
GOODPUT_FULL, GOODPUT_ZERO = 0.85, 0.70
HERD_FULL, HERD_ZERO = 0.75, 0.5
LATENCY_FULL, LATENCY_ZERO = 2.5, 4.0
# Points per criterion, in the order the checks are shown; check.py's hidden checks and
# the preview's weights both come from here.
POINTS = {
    "recovery": 2.0,
    "amplification": 1.5,
    "goodput": 1.0,
    "herd": 1.0,
    "latency": 0.5,
}


@dataclass(frozen=True)
class Verdict:
    credit: float  # 0 to 1
    lines: tuple[str, ...]  # what was measured, against what


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


def recovery_credit(outcome: Outcome | None) -> float:
    if outcome is None or outcome.recovery_s is None:
        return 0.0
    return falling(outcome.recovery_s, RECOVERY_FULL_S, RECOVERY_ZERO_S)


def amplification_credit(outcome: Outcome | None) -> float:
    if outcome is None or outcome.amplification is None:
        return 0.0
    return falling(outcome.amplification, AMPLIFICATION_FULL, AMPLIFICATION_ZERO) * (
        recovery_credit(outcome)
    )


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _where(run: tuple[int, str]) -> str:
    return f"{run[1]} seed {run[0]}"


def recovery_verdict(runs, mine, theirs) -> Verdict | None:
    chosen = [i for i, ref in enumerate(theirs) if ref.has_trigger]
    if not chosen:
        return None
    credits: list[float] = []
    lines: list[str] = []
    for i in chosen:
        got = mine[i]
        if got is None:
            text = "the run did not complete"
        elif got.recovery_s is None:
            text = f"not back to healthy within {got.recovery_searched_s} s of the trigger's end"
        else:
            text = f"healthy again {got.recovery_s} s after the trigger's end"
        credits.append(recovery_credit(got))
        lines.append(
            f"{_where(runs[i])}: {text} (the reference: {theirs[i].recovery_s} s); "
            f"credit {credits[-1]:.2f}"
        )
    overloaded = [credits[k] for k, i in enumerate(chosen) if theirs[i].amplification is not None]
    if overloaded:
        gate = _mean(overloaded)
        for k, i in enumerate(chosen):
            if theirs[i].amplification is None:
                credits[k] *= gate
                lines[k] += (
                    f", times the overloaded runs' mean recovery credit {gate:.2f}: "
                    f"{credits[k]:.2f}"
                )
    return Verdict(_mean(credits), tuple(lines))


def amplification_verdict(runs, mine, theirs) -> Verdict | None:
    chosen = [i for i, ref in enumerate(theirs) if ref.amplification is not None]
    if not chosen:
        return None
    lines = []
    for i in chosen:
        got = mine[i]
        text = (
            "the run did not complete"
            if got is None
            else f"{got.amplification:.2f} attempts per request during the trigger"
        )
        lines.append(
            f"{_where(runs[i])}: {text} (the reference: {theirs[i].amplification:.2f}); "
            f"credit {amplification_credit(got):.2f}"
        )
    return Verdict(_mean([amplification_credit(mine[i]) for i in chosen]), tuple(lines))


def goodput_verdict(runs, mine, theirs) -> Verdict:
    answered = sum(o.answered for o in mine if o is not None)
    requests = sum(o.requests for o in theirs)
    reference = sum(o.answered for o in theirs)
    ratio = answered / reference if reference else 0.0
    credit = rising(ratio, GOODPUT_ZERO, GOODPUT_FULL)
    line = (
        f"{len(runs)} runs: {answered} of {requests} requests answered, the reference "
        f"{reference} ({ratio:.1%} of the reference's); credit {credit:.2f}"
    )
    return Verdict(credit, (line,))


def herd_verdict(runs, mine, theirs) -> Verdict | None:
    chosen = [i for i, ref in enumerate(theirs) if ref.herd_requests]
    if not chosen:
        return None
    credits, lines = [], []
    for i in chosen:
        got, ref = mine[i], theirs[i]
        share = got.herd_share if got is not None else 0.0
        credit = rising(share / ref.herd_share, HERD_ZERO, HERD_FULL) if ref.herd_share else 0.0
        credits.append(credit)
        lines.append(
            f"{_where(runs[i])}: {share:.1%} of the batch jobs' {ref.herd_requests} requests "
            f"answered (the reference: {ref.herd_share:.1%}); credit {credit:.2f}"
        )
    return Verdict(_mean(credits), tuple(lines))


def latency_verdict(runs, mine, theirs, gate: float) -> Verdict:
    ours = sorted(ms for o in mine if o is not None for ms in o.calm_latencies)
    ref = sorted(ms for o in theirs for ms in o.calm_latencies)
    if not ours or not ref:
        return Verdict(0.0, ("no request was answered in the calm seconds",))
    p50, p99 = nearest_rank(ours, 50), nearest_rank(ours, 99)
    ref50, ref99 = nearest_rank(ref, 50), nearest_rank(ref, 99)
    ratio = max(p50 / ref50, p99 / ref99)
    credit = falling(ratio, LATENCY_FULL, LATENCY_ZERO) * gate
    line = (
        f"calm seconds of {len(runs)} runs: p50 {p50} ms, p99 {p99} ms (the reference: "
        f"{ref50} ms and {ref99} ms, ratio {ratio:.2f}); times the recovery credit "
        f"{gate:.2f}: credit {credit:.2f}"
    )
    return Verdict(credit, (line,))


def verdicts(
    runs: list[tuple[int, str]], mine: list[Outcome | None], theirs: list[Outcome]
) -> dict[str, Verdict]:
    """Every criterion that applies to these runs, by the names in POINTS."""
    found = {
        "recovery": recovery_verdict(runs, mine, theirs),
        "amplification": amplification_verdict(runs, mine, theirs),
        "goodput": goodput_verdict(runs, mine, theirs),
        "herd": herd_verdict(runs, mine, theirs),
    }
    gate = found["recovery"].credit if found["recovery"] else 1.0
    found["latency"] = latency_verdict(runs, mine, theirs, gate)
    return {name: verdict for name, verdict in found.items() if verdict is not None}


def weighted(found: dict[str, Verdict]) -> float:
    """The credits together, each weighted by its points: the preview's one number."""
    total = sum(POINTS[name] for name in found)
    return sum(POINTS[name] * verdict.credit for name, verdict in found.items()) / total
