"""What the checker concludes from one measured run: pure functions, no processes.

The numbers come from two sides. Latency and resident memory are measured by the checker
(from outside the learner's process); the collector's counters come from the runner inside
that process: its gc.callbacks hook and gc.get_stats(), both taken before the service was
imported, believed only where they agree, the hook is intact, and what the checker
measured itself (p99, memory while automatic collection was paused) agrees as well.
"""

from __future__ import annotations

import math
import re
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
# The contract keeps the catalog loaded whole. What start() adds to the bare interpreter's
# resident memory must be at least this fraction of what the starter's start() adds in the
# same run: the starter's catalog takes about 72 MiB, a compact but whole one (tuples,
# __slots__) 45 to 65 MiB, a service that builds products on demand under 1 MiB.
CATALOG_FRACTION_OF_STARTER = 0.25
CHOICES = "ABCD"
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
    rss_booted_kib: int | None = None  # before service.py was imported
    rss_ready_kib: int | None = None  # once start() had returned
    rss_start_kib: int | None = None
    rss_peak_kib: int | None = None
    stats_before: dict | None = None
    stats_after: dict | None = None
    unreachable_at_end: int = 0
    probe_orders: int = 0
    probe_rss_start_kib: int | None = None
    probe_rss_peak_kib: int | None = None
    probe_collections: int | None = None  # collections the service ran during the probe
    probe_collected: int | None = None  # what those collections found
    unusual_total: int = 0
    unusual_wrong: int = 0
    first_unusual_wrong: str = ""

    @property
    def correct(self) -> bool:
        return self.error is None and self.answered > 0 and self.wrong == 0

    @property
    def catalog_kib(self) -> int | None:
        """What start() (and the import) added to the bare interpreter's memory."""
        return _growth(self.rss_booted_kib, self.rss_ready_kib)

    def p(self, q: float) -> int:
        return percentile(self.latencies_ns, q)


@dataclass(frozen=True)
class GcWindow:
    """The collector's work in the measured window, as the two sources report it."""

    full_callback: int
    full_stats: int
    collected_callback: int
    collected_stats: int
    hook_intact: bool
    enabled: bool

    @property
    def consistent(self) -> bool:
        return (
            self.hook_intact
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


def count_field(answer: dict, key: str) -> int | None:
    """``answer[key]`` when it is a count, None otherwise (missing or forged)."""
    try:
        return _counter(answer, key)
    except (KeyError, TypeError, ValueError):
        return None


def gc_window(before: dict, after: dict) -> GcWindow:
    """Differences between two ``!stats`` answers; ValueError if they are malformed."""

    def delta(*keys: object) -> int:
        return _counter(after, *keys) - _counter(before, *keys)

    return GcWindow(
        full_callback=delta("hook", "collections", 2),
        full_stats=delta("get_stats", 2, "collections"),
        collected_callback=delta("hook", "collected"),
        collected_stats=sum(delta("get_stats", gen, "collected") for gen in range(3)),
        hook_intact=all(stats.get("hook", {}).get("intact") is True for stats in (before, after)),
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


def catalog_held(run: Run, starter: Run) -> bool:
    """Whether the service holds a catalog of the starter's order of size (see above)."""
    mine, theirs = run.catalog_kib, starter.catalog_kib
    if mine is None or theirs is None:
        return False
    return mine >= CATALOG_FRACTION_OF_STARTER * theirs


@dataclass(frozen=True)
class Diagnosis:
    """What diagnosis.txt answers: one letter, or why it is not an answer."""

    letter: str | None
    problem: str = ""  # for the learner, when there is no letter


# "Answer: B", "answer - B", "Diagnosis = B": a label before the letter is allowed.
_LABEL = re.compile(r"(?:answer|choice|diagnosis)\s*[:=\-]?\s*", re.IGNORECASE)
# The letter, alone or as "(B)", "B)", "B.", "B:", then the end or a separator.
_CHOICE = re.compile(r"\(?([A-Da-d])(?:\)|\.|:)?(?=$|[\s,;/&+\-\u2013\u2014])")
# Another choice named later: a letter standing alone. A lower-case "a" followed by a
# word is the article ("because a full collection"), not a choice.
_ANOTHER = re.compile(r"(?<![A-Za-z0-9'])([A-D]|[b-d]|a(?![ \t]+[A-Za-z]))(?![A-Za-z0-9'])")
_ACCEPTED_FORMS = (
    'Put the letter of your choice alone on that line, or after "Answer:", optionally '
    "followed by your reasoning after a dash."
)


def read_diagnosis(text: str) -> Diagnosis:
    """Read diagnosis.txt: the first line that is neither blank nor a # comment holds the
    answer, which names exactly one of the choices; naming two or more is no answer."""
    lines = [
        line.strip()
        for line in text.lstrip("\ufeff").splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    if not lines or lines[0] == "?":
        return Diagnosis(None, "diagnosis.txt has no answer yet: replace the ? with one letter.")
    first = lines[0]
    label = _LABEL.match(first)
    rest = first[label.end() :] if label else first
    choice = _CHOICE.match(rest)
    if choice is None:
        return Diagnosis(
            None,
            f"diagnosis.txt could not be read as one of the choices {', '.join(CHOICES)}: "
            f"the checker read {first[:120]!r}. {_ACCEPTED_FORMS}",
        )
    letter = choice.group(1).upper()
    later = " ".join([rest[choice.end() :], *lines[1:]])
    others = sorted({found.upper() for found in _ANOTHER.findall(later)} - {letter})
    if others:
        named = " and ".join([letter, *others])
        return Diagnosis(
            None,
            f"diagnosis.txt names more than one choice ({named}) in {first[:120]!r}: an "
            "answer names exactly one choice, so this one counts as wrong.",
        )
    return Diagnosis(letter)
