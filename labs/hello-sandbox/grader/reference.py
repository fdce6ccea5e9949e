"""The checker's own parser: the expected summary of a log, computed on the trusted side."""

import math
import re

LINE = re.compile(r'^\S+ \S+ \S+ \[[^\]]+\] "(?:[^"\\]|\\.)*" (\d{3}) (?:\d+|-) (\d+(?:\.\d+)?)$')


def summarise(text: str) -> dict:
    by_status: dict[str, int] = {}
    latencies = []
    malformed = 0
    for raw in text.splitlines():
        if not raw.strip():
            continue
        match = LINE.match(raw)
        if match is None:
            malformed += 1
            continue
        by_status[match[1]] = by_status.get(match[1], 0) + 1
        latencies.append(float(match[2]) * 1000)
    ordered = sorted(latencies)

    def rank(p):
        return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1] if ordered else None

    return {
        "requests": len(latencies),
        "malformed": malformed,
        "by_status": by_status,
        "p50_ms": rank(50),
        "p99_ms": rank(99),
    }
