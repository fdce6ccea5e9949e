"""Summarise a load balancer's access log: request counts by status and latency percentiles.

Usage: python3 logparse.py < access.log
"""

import json
import math
import re
import sys

# Written against sample.log: every request line there is '-', TLS bytes, or GET/POST
# with HTTP/1.0 or 1.1, so that is all this pattern accepts.
REQUEST = r'(?:-|(?:\\x[0-9a-f]{2})+|(?:GET|POST) (?:[^"\\]|\\")* HTTP/1\.[01])'
LINE = re.compile(
    r'^(?P<client>\S+) \S+ \S+ \[(?P<time>[^\]]+)\] "(?P<request>' + REQUEST + r')" '
    r"(?P<status>\d{3}) (?P<size>\d+|-) (?P<seconds>\d+(?:\.\d+)?)$"
)


def parse_line(line):
    """(status, seconds) for a well-formed line, None for a malformed one."""
    match = LINE.match(line.rstrip("\r\n"))
    if match is None:
        return None
    return match["status"], float(match["seconds"])


def percentile(values, p):
    """Nearest rank: the ceil(p/100 * n)-th smallest value, counting from 1."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def main():
    by_status = {}
    latencies = []
    malformed = 0
    for line in sys.stdin:
        if not line.strip():
            continue
        parsed = parse_line(line)
        if parsed is None:
            malformed += 1
            continue
        status, seconds = parsed
        by_status[status] = by_status.get(status, 0) + 1
        latencies.append(seconds * 1000)
    summary = {
        "requests": len(latencies),
        "malformed": malformed,
        "by_status": by_status,
        "p50_ms": percentile(latencies, 50) if latencies else None,
        "p99_ms": percentile(latencies, 99) if latencies else None,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
