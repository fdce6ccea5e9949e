"""Summarise a load balancer's access log: request counts by status and latency percentiles.

Usage: python3 logparse.py < access.log
"""

import json
import math
import sys


def parse_line(line):
    """(status, seconds) from the last three fields, whatever comes before them."""
    fields = line.split()
    if len(fields) < 3:
        return None
    status, size, seconds = fields[-3:]
    if not (status.isdigit() and (size.isdigit() or size == "-")):
        return None
    try:
        return status, float(seconds)
    except ValueError:
        return None


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
