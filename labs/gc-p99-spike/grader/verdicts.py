"""What the checker concludes from one measured run: pure functions, no processes.

The numbers come from two sides. Latency and resident memory are measured by the checker
(from outside the learner's process); the collector's counters come from the runner's
gc.callbacks hook inside that process and are believed only where gc.get_stats() agrees.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

# Steady state: a few natural full collections may happen, a forced one every N requests
# may not. The starter does one every 50 requests (20 in the window).
FULL_COLLECTIONS_ALLOWED = 2
# Unreachable objects the collector finds per request. The starter leaves about 25 (an
# order, its lines and their breakdowns, all held in a cycle); a fix leaves none.
CYCLIC_GARBAGE_PER_REQUEST = 1.0
# Growth of resident memory from the start of the measured window to its peak. A service
# whose garbage nobody collects grows by megabytes; one that frees it stays flat.
MEMORY_GROWTH_KIB = 4 * 1024
# The same growth while the checker keeps automatic collection paused for PROBE orders:
# the starter's cycles leave about 8 MiB per 1,000 orders, a fix none.
PROBE_GROWTH_KIB = 2 * 1024
# The learner's p99 must be at most this fraction of the starter's, measured in the same
# run. Forced full collections put the starter's p99 at tens of milliseconds and a fix
# at a fraction of one, so the margin is wide on a busy machine too.
P99_FRACTION_OF_STARTER = 0.25
DIAGNOSIS = "B"


def percentile(values: list[int], p: float) -> int:
    """Nearest-rank percentile: the ceil(p/100 * n)-th smallest value."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


@dataclass
class Run:
    """What the checker observed while driving one service."""

    error: str | None = None  # set when the service crashed, hung or broke the protocol
    start_s: float = 0.0  # checker-side seconds until start() had returned
    orders_s: float = 0.0  # checker-side seconds for the warm-up and measured orders
    answered: int = 0
    wrong: int = 0
    first_wrong: str = ""
    latencies_ns: list[int] = field(default_factory=list)
    rss_start_kib: int | None = None
    rss_peak_kib: int | None = None
    stats_before: dict | None = None
    stats_after: dict | None = None
    unreachable_at_end: int = 0
    probe_orders: int = 0
    probe_rss_start_kib: int | None = None
    probe_rss_peak_kib: int | None = None
    unusual_total: int = 0
    unusual_wrong: int = 0
    first_unusual_wrong: str = ""

    @property
    def correct(self) -> bool:
        return self.error is None and self.answered > 0 and self.wrong == 0

    def p(self, q: float) -> int:
        return percentile(self.latencies_ns, q)


@dataclass(frozen=True)
class GcWindow:
    """The collector's work in the measured window, as the two sources report it."""

    full_callback: int
    full_stats: int
    collected_callback: int
    collected_stats: int
    hook_installed: bool
    enabled: bool

    @property
    def consistent(self) -> bool:
        return (
            self.hook_installed
            and self.full_callback == self.full_stats
            and self.collected_callback == self.collected_stats
        )

    @property
    def full_collections(self) -> int:
        return max(self.full_callback, self.full_stats)

    @property
    def collected(self) -> int:
        return max(self.collected_callback, self.collected_stats)


def _counter(stats: dict, *keys: object) -> int:
    value: object = stats
    for key in keys:
        value = value[key]  # type: ignore[index]
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"counter {keys} is not a count: {value!r}")
    return value


def gc_window(before: dict, after: dict) -> GcWindow:
    """Differences between two ``!stats`` answers; ValueError if they are malformed."""

    def delta(*keys: object) -> int:
        return _counter(after, *keys) - _counter(before, *keys)

    return GcWindow(
        full_callback=delta("callback", "collections", 2),
        full_stats=delta("get_stats", 2, "collections"),
        collected_callback=delta("callback", "collected"),
        collected_stats=sum(delta("get_stats", gen, "collected") for gen in range(3)),
        hook_installed=after.get("callback", {}).get("installed") is True,
        enabled=after.get("enabled") is True,
    )


def cyclic_garbage_per_request(window: GcWindow, unreachable_at_end: int, requests: int) -> float:
    """Objects only the collector could free, per request: what it collected during the
    window plus what a full collection still finds at its end (garbage nobody collected,
    as when the collector is switched off or its thresholds are out of reach)."""
    return (window.collected + unreachable_at_end) / max(1, requests)


def _growth(start: int | None, peak: int | None) -> int | None:
    return None if start is None or peak is None else peak - start


def memory_growth_kib(run: Run) -> int | None:
    """Peak resident memory in the measured window over what it was at its start."""
    return _growth(run.rss_start_kib, run.rss_peak_kib)


def probe_growth_kib(run: Run) -> int | None:
    """The same, while automatic collection was paused (checker-side evidence of cycles)."""
    return _growth(run.probe_rss_start_kib, run.probe_rss_peak_kib)


def p99_fast_enough(learner_p99_ns: int, starter_p99_ns: int) -> bool:
    return learner_p99_ns <= P99_FRACTION_OF_STARTER * starter_p99_ns


def diagnosis_letter(text: str) -> str | None:
    """The letter on the first line that is neither blank nor a # comment."""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        letter = stripped[0].upper()
        return letter if letter in "ABCD" else None
    return None
