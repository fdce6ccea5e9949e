"""Part A: the learner's incident.json against the facts of their incident.

The facts come from incident.py's simulation of the learner's seed, exactly as its files
show them:

- an overlap is a stretch when both replicas believed they led: from one replica's
  "became leader" line until the other's leadership ended (its "shutting down" line, or
  the end of its log), while the other's had begun and not ended;
- a stale append is an entry of ledger.jsonl whose writer did not hold the election key
  at the entry's time, by etcd-watch.log: the last event on the key before that moment
  is a DELETE, or a PUT of the other replica's name.

Scores, each rounded to two decimals:

    overlaps: points x |answer ∩ truth| / |answer ∪ truth|   (time covered, a Jaccard index)
    stale:    points x recall x max(0, (precision - base) / (1 - base))

For the stale appends, recall is the share of them the list names, precision the share
of the listed ids that are stale appends, and base the share of all the ledger's
entries that are stale (the precision of listing every entry), so that listing
everything earns nothing and each right id adds about its share. Each id counts once.
"""

from __future__ import annotations

import json
from datetime import datetime

from incident import REPLICAS, Incident

SCORE_DECIMALS = 2
MOST_INTERVALS = 20  # more than this is a spray, not an answer
ANSWER_KEYS = ("overlaps", "stale_writes")
EXAMPLE = (
    '{"overlaps": [["2024-03-12T02:14:07.412Z", "2024-03-12T02:14:19.020Z"]], '
    '"stale_writes": [812, 813]}'
)


# -- the facts --------------------------------------------------------------------------


def true_overlaps(incident: Incident) -> list[tuple[int, int]]:
    """(start, end) in milliseconds since the incident's start, in time order."""
    a, b = (incident.replicas[name].beliefs for name in REPLICAS)
    overlaps = []
    for start_a, end_a in a:
        for start_b, end_b in b:
            start, end = max(start_a, start_b), min(end_a, end_b)
            if start < end:
                overlaps.append((start, end))
    return sorted(overlaps)


def holder_at(incident: Incident, at_ms: int) -> str | None:
    """The replica named by the election key at a moment, by the watch log."""
    holder = None
    for event in sorted(incident.watch, key=lambda event: event["at_ms"]):
        if event["at_ms"] >= at_ms:
            break
        holder = event["value"] if event["type"] == "PUT" else None
    return holder


def stale_entries(incident: Incident) -> frozenset[int]:
    return frozenset(
        row["entry"]
        for row in incident.ledger
        if holder_at(incident, row["at_ms"]) != row["writer"]
    )


# -- reading the answer -----------------------------------------------------------------


def read_answer(data: bytes | None) -> tuple[dict | None, str]:
    """(the answer object, problem): incident.json must be one JSON object."""
    if data is None:
        return None, f"incident.json is missing: hand in a JSON object such as {EXAMPLE}."
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        return (
            None,
            f"incident.json is not valid JSON ({error}); expected an object such as {EXAMPLE}.",
        )
    if not isinstance(value, dict):
        return None, f"incident.json must be a JSON object such as {EXAMPLE}."
    unknown = sorted(set(value) - set(ANSWER_KEYS))
    if unknown:
        return None, (
            f"incident.json has keys this lab does not read: {', '.join(unknown)}. It takes "
            f"exactly {' and '.join(ANSWER_KEYS)}, e.g. {EXAMPLE}."
        )
    return value, ""


def parse_moment(text: object, incident: Incident) -> tuple[int | None, str]:
    """Milliseconds since the incident's start for an ISO 8601 time with a date and an
    explicit UTC offset ("Z", "+00:00", "+02:00"); (None, why) otherwise."""
    if not isinstance(text, str):
        return None, f"{text!r} is not a string"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None, f"{text!r} is not an ISO 8601 date and time"
    if moment.tzinfo is None:
        return None, f"{text!r} has no UTC offset: write it as the logs do, ending in Z"
    return round((moment - incident.start).total_seconds() * 1000), ""


def parse_overlaps(answer: dict, incident: Incident) -> tuple[list[tuple[int, int]] | None, str]:
    value = answer.get("overlaps")
    shape = (
        "a list of [start, end] pairs, e.g. "
        '[["2024-03-12T02:14:07.412Z", "2024-03-12T02:14:19.020Z"]]'
    )
    if not isinstance(value, list) or not all(
        isinstance(pair, list) and len(pair) == 2 for pair in value
    ):
        return None, f'"overlaps" must be {shape}.'
    if len(value) > MOST_INTERVALS:
        return None, f'"overlaps" lists {len(value)} intervals; at most {MOST_INTERVALS} are read.'
    intervals = []
    for pair in value:
        (start, problem_start), (end, problem_end) = (parse_moment(t, incident) for t in pair)
        if start is None or end is None:
            return None, f'In "overlaps": {problem_start or problem_end}.'
        if end <= start:
            return None, f'In "overlaps": {pair[0]} to {pair[1]} does not end after it starts.'
        intervals.append((start, end))
    return intervals, ""


def parse_ids(answer: dict) -> tuple[list[int] | None, str]:
    value = answer.get("stale_writes")
    if not isinstance(value, list) or not all(
        isinstance(item, int) and not isinstance(item, bool) for item in value
    ):
        return (
            None,
            '"stale_writes" must be a list of ledger entry ids (integers), e.g. [812, 813].',
        )
    return value, ""


# -- scoring ----------------------------------------------------------------------------


def merged(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in sorted(intervals):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def covered(intervals: list[tuple[int, int]]) -> int:
    return sum(end - start for start, end in merged(intervals))


def shared(first: list[tuple[int, int]], second: list[tuple[int, int]]) -> int:
    return sum(
        max(0, min(end_a, end_b) - max(start_a, start_b))
        for start_a, end_a in merged(first)
        for start_b, end_b in merged(second)
    )


def overlap_score(
    answer: list[tuple[int, int]], truth: list[tuple[int, int]], points: float
) -> float:
    both = shared(answer, truth)
    either = covered(answer) + covered(truth) - both
    return round(points * both / either, SCORE_DECIMALS) if either else points


def stale_score(*, found: int, wrong: int, stale: int, entries: int, points: float) -> float:
    """The module docstring's formula for `found` right and `wrong` wrong distinct ids."""
    if stale == 0:
        return points if wrong == 0 else 0.0
    listed = found + wrong
    if listed == 0:
        return 0.0
    recall, precision = found / stale, found / listed
    base = stale / entries if entries > stale else 0.0
    return round(points * recall * max(0.0, (precision - base) / (1 - base)), SCORE_DECIMALS)


def grade_overlaps(
    answer: dict | None, problem: str, incident: Incident, points: float
) -> tuple[float, str]:
    """(score, feedback) for the "overlaps" part."""
    if answer is None:
        return 0.0, problem
    intervals, problem = parse_overlaps(answer, incident)
    if intervals is None:
        return 0.0, problem
    truth = true_overlaps(incident)
    score = overlap_score(intervals, truth, points)
    if score >= points:
        return points, f"Right: {len(truth)} overlapping leadership intervals."
    both = shared(intervals, truth)
    either = covered(intervals) + covered(truth) - both
    return score, (
        f"You listed {len(intervals)} intervals; the incident has {len(truth)}. Of the time "
        f"in your intervals or in the true ones, {both / either:.0%} is in both, so "
        f"{score:g} of {points:g} points. An overlap starts when the second replica logs "
        '"became leader" and ends when the first one stops believing it leads: what in its '
        "log says so?"
    )


def grade_stale_writes(
    answer: dict | None, problem: str, incident: Incident, points: float
) -> tuple[float, str]:
    """(score, feedback) for the "stale_writes" part."""
    if answer is None:
        return 0.0, problem
    ids, problem = parse_ids(answer)
    if ids is None:
        return 0.0, problem
    listed = frozenset(ids)
    repeated = len(ids) - len(listed)
    repeat_note = (
        f"{repeated} ids repeat an id listed before them; each counts once." if repeated else ""
    )
    truth = stale_entries(incident)
    if listed == truth:
        return points, "\n".join(filter(None, [f"Right: {len(truth)} stale appends.", repeat_note]))
    entries = {row["entry"] for row in incident.ledger}
    found, wrong = listed & truth, listed - truth
    score = stale_score(
        found=len(found), wrong=len(wrong), stale=len(truth), entries=len(entries), points=points
    )
    kinds = [
        f"{len(wrong & entries)} are appends from the replica the key named at that moment"
        if wrong & entries
        else "",
        f"{len(wrong - entries)} are not entries of your ledger.jsonl" if wrong - entries else "",
    ]
    lines = [
        f"You listed {len(listed)} ids; {len(found)} of them are stale appends, and "
        f"{len(truth - listed)} stale appends are missing from your list.",
        ("Of the others: " + "; ".join(filter(None, kinds)) + ".") if wrong else "",
        repeat_note,
        f"Partial credit: {score:g} of {points:g} points. It grows with every stale append you "
        "list, and every id that is not one costs precision; listing every entry earns nothing.",
        "A stale append is one the ledger accepted from a replica the election key did not "
        "name at that moment: compare each entry's time with etcd-watch.log.",
    ]
    return score, "\n".join(filter(None, lines))
