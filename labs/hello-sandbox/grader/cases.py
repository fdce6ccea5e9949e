"""What the hello-sandbox checker grades: the logs of each check, their points, and verdicts.

The visible checks run on sample.log (the same for everyone) and on logs generated from
the learner's seed; their feedback prints the expected values, so a learner can copy
them, and together they are worth VISIBLE_SHARE of the ten points. The hidden checks run
on fresh logs from generators the learner never sees, seeded apart from the visible
ones; they carry the rest. A rule that a constant answer could satisfy (no requests
means null percentiles) is checked together with a log that has requests, so printing
that constant earns nothing.
"""

import json
import math
import random
from dataclasses import dataclass

import logs

COUNTS = ("requests", "malformed", "by_status")
PERCENTILES = ("p50_ms", "p99_ms")
FIELDS = COUNTS + PERCENTILES
TOTAL = 10.0
VISIBLE_SHARE = 1.5


@dataclass(frozen=True)
class Case:
    """One check: the learner's script must summarise every log right on `fields`."""

    name: str
    logs: tuple[str, ...]
    fields: tuple[str, ...]
    points: float
    visibility: str  # "visible" or "hidden"
    about: str  # what the logs hold, for the learner when the check fails


def _rng(seed: int, part: str) -> random.Random:
    # A string seed is hashed the same way in every process (no PYTHONHASHSEED).
    return random.Random(f"hello-sandbox {part} {seed}")


def _no_requests(rng: random.Random, malformed: int, blank: int, clean: int) -> tuple[str, ...]:
    """A log of blank lines, one of malformed lines, and the same malformed lines among
    well-formed ones: "everything is malformed" or "always null" cannot pass all three."""
    blanks = logs.build(rng, clean=0, blank=blank)
    bad = logs.build(rng, clean=0, malformed=malformed, blank=blank // 2)
    mixed_lines = bad.splitlines() + logs.build(rng, clean=clean).splitlines()
    rng.shuffle(mixed_lines)
    return blanks, bad, "".join(text + "\n" for text in mixed_lines)


def plan(seed: int, sample: str) -> list[Case]:
    """Every check for this seed, in the order they run. The same seed, the same logs.

    Generated logs outside the nearest-rank checks have an odd number of requests, so
    that p/100 * n is never a whole number there and a rank bug costs only those checks
    (and sample.log's percentiles: it has 400).
    """
    visible, hidden = _rng(seed, "visible"), _rng(seed, "hidden")
    return [
        Case(
            "sample.log: request, malformed and status counts",
            (sample,),
            COUNTS,
            0.25,
            "visible",
            "sample.log, the log you were given.",
        ),
        Case(
            "sample.log: p50 and p99 latency",
            (sample,),
            PERCENTILES,
            0.25,
            "visible",
            "sample.log, the log you were given.",
        ),
        Case(
            "request lines with spaces, escaped quotes and '-'",
            (
                logs.build(
                    visible, clean=33 - len(logs.TRICKY_KINDS), tricky=len(logs.TRICKY_KINDS)
                ),
            ),
            FIELDS,
            0.25,
            "visible",
            "A log generated for your seed whose request lines hold spaces, escaped quotes "
            '(\\"), brackets, text that looks like the end of a line, other methods, no '
            "version, or just '-', and times taken in whole seconds. Every line in it is "
            "well-formed.",
        ),
        Case(
            "malformed lines are counted, blank lines ignored",
            (logs.build(visible, clean=41, malformed=len(logs.MALFORMED_KINDS) + 3, blank=6),),
            COUNTS,
            0.25,
            "visible",
            "A log generated for your seed with malformed lines of every shape (free text, "
            "a missing or extra field, a status that is not three digits, a size that is "
            "not a number, the time without brackets, an unclosed quote, a time with a "
            "unit, two spaces between fields, a line cut short) and blank lines, some of "
            "them only spaces or tabs.",
        ),
        Case(
            "no requests: both percentiles are null",
            ("", *_no_requests(visible, malformed=len(logs.MALFORMED_KINDS), blank=4, clean=9)),
            FIELDS,
            0.25,
            "visible",
            "Four logs generated for your seed: an empty one, one of blank lines only, one of "
            "malformed and blank lines only, and those malformed lines among well-formed ones.",
        ),
        Case(
            "nearest rank where p/100 * n is a whole number",
            (logs.distinct_latencies(visible, 200),),
            PERCENTILES,
            0.25,
            "visible",
            "A log generated for your seed of 200 requests, every time taken different, so "
            "p50 is the 100th smallest and p99 the 198th.",
        ),
        Case(
            "fresh log: unusual request lines",
            (logs.build(hidden, clean=150, tricky=51),),
            FIELDS,
            1.5,
            "hidden",
            "",
        ),
        Case(
            "fresh log: malformed and blank lines",
            (logs.build(hidden, clean=301, malformed=60, blank=20),),
            COUNTS,
            1.5,
            "hidden",
            "",
        ),
        *_big_log_cases(hidden),
        Case(
            "fresh log: nearest rank where p/100 * n is a whole number",
            (logs.distinct_latencies(hidden, 300),),
            PERCENTILES,
            1.5,
            "hidden",
            "",
        ),
        Case(
            "fresh logs with no requests",
            _no_requests(hidden, malformed=30, blank=12, clean=41),
            FIELDS,
            1.5,
            "hidden",
            "",
        ),
    ]


def _big_log_cases(rng: random.Random) -> list[Case]:
    big = (logs.build(rng, clean=19_601, tricky=200, malformed=60, blank=40),)
    return [
        Case("fresh log of 19,901 lines: counts", big, COUNTS, 1.25, "hidden", ""),
        Case("fresh log of 19,901 lines: p50 and p99", big, PERCENTILES, 1.25, "hidden", ""),
    ]


def read_summary(stdout: bytes) -> tuple[dict | None, str]:
    """(summary, problem): the one JSON object the script printed, or what is wrong."""
    text = stdout.decode(errors="replace").strip()
    if not text:
        return None, "Your script printed nothing on standard output; expected one JSON object."
    try:
        summary = json.loads(text)
    except json.JSONDecodeError:
        return None, (
            "Standard output must hold exactly one JSON object and nothing else (write "
            f"anything else to standard error). It began: {text[:200]!r}"
        )
    if not isinstance(summary, dict):
        return None, f"Expected one JSON object on standard output, got: {text[:200]}"
    return summary, ""


def _same_number(got, want) -> bool:
    if want is None:
        return got is None
    if isinstance(got, bool) or not isinstance(got, (int, float)):
        return False
    return math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-9)


def differences(summary: dict, expected: dict, fields: tuple[str, ...]) -> list[str]:
    """One line per field that differs, saying what was expected and what was printed."""
    wrong = []
    for name in fields:
        got, want = summary.get(name), expected[name]
        if name == "by_status":
            same = got == want
        elif name in ("requests", "malformed"):
            same = type(got) is int and got == want
        else:
            same = _same_number(got, want)
        if not same:
            wrong.append(f"{name}: expected {json.dumps(want)}, got {json.dumps(got)}")
    by_status = summary.get("by_status")
    requests = summary.get("requests")
    if (
        wrong
        and isinstance(by_status, dict)
        and type(requests) is int
        and all(type(n) is int for n in by_status.values())
        and sum(by_status.values()) != requests
    ):
        wrong.append(
            f"Your by_status adds up to {sum(by_status.values())} requests but requests "
            f"says {requests}: every well-formed line has exactly one status."
        )
    return wrong
