"""Summarise a load balancer's access log: request counts by status and latency percentiles.

Usage: python3 logparse.py < access.log

Another correct answer: the line is scanned field by field with no regular expression,
milliseconds are exact decimals, and the nearest rank is computed in integers.
"""

import json
import sys
from collections import Counter
from decimal import Decimal

DIGITS = set("0123456789")


def _word(text, start):
    """(the field from start to the next space, where the next field starts) or None."""
    end = text.find(" ", start)
    if end <= start or any(c.isspace() for c in text[start:end]):
        return None
    return end + 1


def _quoted_end(text, start):
    """The index just past the closing quote of a quoted field opening at start, or None."""
    if text[start : start + 1] != '"':
        return None
    i = start + 1
    while i < len(text):
        if text[i] == "\\":
            i += 2  # an escape: the next character, whatever it is, is part of the field
        elif text[i] == '"':
            return i + 1
        else:
            i += 1
    return None


def _is_number(text):
    whole, dot, fraction = text.partition(".")
    if not whole or not set(whole) <= DIGITS:
        return False
    return not dot or (fraction != "" and set(fraction) <= DIGITS)


def parse_line(line):
    """(status, milliseconds) for a well-formed line, None for a malformed one."""
    text = line.rstrip("\n").removesuffix("\r")
    at = 0
    for _ in range(3):  # client, identity, user
        at = _word(text, at)
        if at is None:
            return None
    if text[at : at + 1] != "[":
        return None
    close = text.find("]", at)
    if close <= at + 1 or text[close + 1 : close + 2] != " ":
        return None
    end = _quoted_end(text, close + 2)
    if end is None or text[end : end + 1] != " ":
        return None
    tail = text[end + 1 :].split(" ")
    if len(tail) != 3:
        return None
    status, size, seconds = tail
    if len(status) != 3 or not set(status) <= DIGITS:
        return None
    if size != "-" and not (size and set(size) <= DIGITS):
        return None
    if not _is_number(seconds):
        return None
    return status, float(Decimal(seconds) * 1000)


def nearest_rank(ordered, p):
    """The ceil(p * n / 100)-th smallest value, counting from 1; None when there are none."""
    if not ordered:
        return None
    rank = max(1, -(-p * len(ordered) // 100))
    return ordered[rank - 1]


def main():
    statuses = Counter()
    millis = []
    malformed = 0
    for line in sys.stdin:
        if line.isspace():
            continue
        parsed = parse_line(line)
        if parsed is None:
            malformed += 1
        else:
            statuses[parsed[0]] += 1
            millis.append(parsed[1])
    millis.sort()
    summary = {
        "requests": len(millis),
        "malformed": malformed,
        "by_status": dict(statuses),
        "p50_ms": nearest_rank(millis, 50),
        "p99_ms": nearest_rank(millis, 99),
    }
    json.dump(summary, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
