"""Part A: read the learner's lost.json and compare it with the lost writes of their seed."""

from __future__ import annotations

import json
from dataclasses import dataclass

from set_check import SetCheck

# A near miss (the two sets overlap by at least NEAR_MISS_OVERLAP, as Jaccard measures
# it) earns at most NEAR_MISS_SHARE of the points, scaled by the overlap. Listing every
# acknowledged write, or another seed's answer, overlaps too little to earn anything.
NEAR_MISS_SHARE = 0.5
NEAR_MISS_OVERLAP = 0.6


@dataclass(frozen=True)
class AnswerGrade:
    score: float
    passed: bool
    output: str


def parse_lost(data: bytes | None) -> tuple[frozenset | None, str]:
    """(ids, problem): lost.json must be a JSON list of write ids (integers)."""
    if data is None:
        return None, "lost.json is missing: hand in a JSON list of write ids, e.g. [12, 13, 40]."
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        return None, f"lost.json is not valid JSON ({error}): expected a list such as [12, 13, 40]."
    if not isinstance(value, list) or not all(
        isinstance(item, int) and not isinstance(item, bool) for item in value
    ):
        return None, "lost.json must be a JSON list of integer write ids, such as [12, 13, 40]."
    return frozenset(value), ""


def _count(label: str, ids: set) -> str:
    return f"{len(ids)} {label}" if ids else ""


def grade_answer(data: bytes | None, check: SetCheck, points: float) -> AnswerGrade:
    """Full points for the exact set; a share of half the points for a near miss."""
    listed, problem = parse_lost(data)
    if listed is None:
        return AnswerGrade(0.0, False, problem)
    expected = check.lost
    if listed == expected:
        return AnswerGrade(points, True, f"Exactly right: {len(expected)} lost writes.")
    found = listed & expected
    wrong = set(listed - expected)
    # Say what kind of write each wrong id was, without saying which ids are right.
    kinds = [
        _count("were acknowledged and are in every node's final read", wrong & check.acknowledged),
        _count(
            "got no answer (info): the client never heard they succeeded",
            wrong & check.indeterminate,
        ),
        _count("failed: the store said they did not happen", wrong & check.failed),
        _count("were never written at all", wrong - check.attempted),
    ]
    lines = [
        f"You listed {len(listed)} ids; {len(found)} of them are lost acknowledged writes, "
        f"and {len(expected - listed)} lost writes are missing from your list.",
    ]
    details = [kind for kind in kinds if kind]
    if details:
        lines.append("Of the ids that are not lost writes: " + "; ".join(details) + ".")
    lines.append(
        "A lost write is one the store acknowledged (ok) that is missing after the cluster "
        "settled. Is your history for the seed shown on the lab page, from the starter's node.py?"
    )
    union = listed | expected
    overlap = len(found) / len(union) if union else 0.0
    score = round(points * NEAR_MISS_SHARE * overlap, 1) if overlap >= NEAR_MISS_OVERLAP else 0.0
    return AnswerGrade(score, False, "\n".join(lines))
