"""What one simulated run shows about a policy, measured on the simulator's own records.

Every number here comes from the checker's simulator (the requests it generated, the
attempts that reached its backend, the answers it delivered), never from the policy's
processes, which only ever answer questions.

- answered share: of the user requests that arrived in some seconds, the share that got
  a successful answer before their user gave up;
- recovery: after a trigger ends, how many seconds pass until the requests arriving in
  the next RECOVERY_WINDOW_S seconds are answered at least HEALTHY_SHARE of the time;
- amplification under overload: attempts that reached the backend per user request,
  over the trigger of a slowdown or a surge;
- herd share: the answered share of the requests a batch job sent all at once;
- calm latency: the p50 and p99 latency of the requests answered in the calm seconds
  (no trigger yet, no herd in the last few seconds).
"""

from __future__ import annotations

from dataclasses import dataclass

from simulate import HERD_MS, Result

HEALTHY_SHARE = 0.98
RECOVERY_WINDOW_S = 10
OVERLOAD_TRIGGERS = ("slowdown", "surge")
HERD_SETTLE_S = 4  # seconds after a herd that do not count as calm


@dataclass(frozen=True)
class Outcome:
    shape: str
    requests: int
    answered: int
    recovery_s: int | None  # None: no trigger, or no recovery in the run
    recovery_searched_s: int  # how far after the trigger's end recovery was looked for
    amplification: float | None  # None: no overload trigger
    herd_requests: int
    herd_answered: int
    calm_latencies: tuple[int, ...]  # sorted, ms

    @property
    def has_trigger(self) -> bool:
        return self.recovery_searched_s > 0

    @property
    def herd_share(self) -> float | None:
        return self.herd_answered / self.herd_requests if self.herd_requests else None


def answered_in(result: Result, start_s: int, end_s: int) -> tuple[int, int]:
    """(requests, answered) of the requests that arrived in seconds [start_s, end_s)."""
    lo, hi = start_s * 1000, end_s * 1000
    chosen = [ok for arrival, _, ok, _ in result.requests if lo <= arrival < hi]
    return len(chosen), sum(chosen)


def recovery_seconds(result: Result) -> tuple[int | None, int]:
    """(seconds until healthy after the trigger ends or None, how far it was searched)."""
    trigger = result.shape.trigger
    if trigger is None:
        return None, 0
    last_start = result.shape.duration_s - RECOVERY_WINDOW_S
    searched = last_start - trigger.end_s
    for start in range(trigger.end_s, last_start + 1):
        total, ok = answered_in(result, start, start + RECOVERY_WINDOW_S)
        if total and ok >= HEALTHY_SHARE * total:
            return start - trigger.end_s, searched
    return None, searched


def amplification(result: Result) -> float | None:
    trigger = result.shape.trigger
    if trigger is None or trigger.kind not in OVERLOAD_TRIGGERS:
        return None
    rows = result.dashboard[trigger.start_s : trigger.end_s]
    requests = sum(row["requests"] for row in rows)
    return sum(row["offered"] for row in rows) / requests if requests else None


def calm_seconds(result: Result) -> set[int]:
    shape = result.shape
    end = shape.trigger.start_s if shape.trigger else shape.duration_s
    calm = set(range(end))
    for at, _ in shape.herds:
        calm -= set(range(at // 1000, at // 1000 + HERD_SETTLE_S))
    return calm


def measure(result: Result) -> Outcome:
    calm = calm_seconds(result)
    latencies = sorted(
        finished - arrival
        for arrival, finished, ok, _ in result.requests
        if ok and arrival // 1000 in calm
    )
    herd = [
        ok
        for arrival, _, ok, _ in result.requests
        if any(at <= arrival < at + HERD_MS for at, _ in result.shape.herds)
    ]
    recovery, searched = recovery_seconds(result)
    return Outcome(
        shape=result.shape.name,
        requests=len(result.requests),
        answered=sum(ok for _, _, ok, _ in result.requests),
        recovery_s=recovery,
        recovery_searched_s=searched,
        amplification=amplification(result),
        herd_requests=len(herd),
        herd_answered=sum(herd),
        calm_latencies=tuple(latencies),
    )
