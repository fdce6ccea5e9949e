"""Part A: read the learner's lost.json and compare it with the lost writes of their seed.

Credit is recall times chance-corrected precision:

    score = points * recall * max(0, (precision - base) / (1 - base))

where recall is the share of the lost writes the list names, precision the share of the
listed ids that are lost writes, and base the share of the acknowledged writes that were
lost (the precision of listing every acknowledged write). A list of only lost writes earns
its share of them; every id that is not a lost write lowers the precision; a list no more
precise than listing every acknowledged write earns nothing, on every seed. The score is
continuous in what is listed, so one more right id (or one fewer wrong one) moves it a
little and never jumps. Each id counts once, however often it is listed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from set_check import SetCheck

SCORE_DECIMALS = 2


@dataclass(frozen=True)
class AnswerGrade:
    score: float
    passed: bool
    output: str


def _load_ids(data: bytes | None) -> tuple[list[int] | None, str]:
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
    return value, ""


def parse_lost(data: bytes | None) -> tuple[frozenset | None, str]:
    """(ids, problem): lost.json must be a JSON list of write ids (integers)."""
    ids, problem = _load_ids(data)
    return (None if ids is None else frozenset(ids)), problem


def partial_credit(*, found: int, wrong: int, lost: int, acknowledged: int, points: float) -> float:
    """The module docstring's formula, for `found` right and `wrong` wrong distinct ids.

    `lost` is the number of lost writes and `acknowledged` the number of acknowledged
    writes on the seed (lost ones included).
    """
    if lost == 0:
        # Nothing to find: only the empty list is right.
        return points if wrong == 0 else 0.0
    listed = found + wrong
    if listed == 0:
        return 0.0
    recall = found / lost
    precision = found / listed
    # If every acknowledged write was lost, listing them all is the answer, not a guess.
    base = lost / acknowledged if acknowledged > lost else 0.0
    above_chance = max(0.0, (precision - base) / (1 - base))
    return round(points * recall * above_chance, SCORE_DECIMALS)


def _count(label: str, ids: set) -> str:
    return f"{len(ids)} {label}" if ids else ""


def grade_answer(data: bytes | None, check: SetCheck, points: float) -> AnswerGrade:
    """Full points for the exact set; otherwise the module docstring's partial credit."""
    ids, problem = _load_ids(data)
    if ids is None:
        return AnswerGrade(0.0, False, problem)
    listed = frozenset(ids)
    repeated = len(ids) - len(listed)
    repeat_note = (
        f"{repeated} of the ids you listed repeat an id listed before them; each id counts once."
        if repeated
        else ""
    )
    expected = check.lost
    if listed == expected:
        lines = [f"Exactly right: {len(expected)} lost writes.", repeat_note]
        return AnswerGrade(points, True, "\n".join(line for line in lines if line))
    found = listed & expected
    wrong = set(listed - expected)
    score = partial_credit(
        found=len(found),
        wrong=len(wrong),
        lost=len(expected),
        acknowledged=len(check.acknowledged),
        points=points,
    )
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
    if repeat_note:
        lines.append(repeat_note)
    lines.append(
        f"Partial credit: {score:g} of {points:g} points. It grows with every lost write you "
        "list, and every id that is not one costs precision; a list no more precise than "
        "every acknowledged write earns nothing."
    )
    lines.append(
        "A lost write is one the store acknowledged (ok) that is missing after the cluster "
        "settled. Is your history for the seed shown on the lab page, from the starter's node.py?"
    )
    return AnswerGrade(score, False, "\n".join(lines))
