"""Part A: what answers.json must say about the learner's own profiles, and its credit.

The truth is computed from the folded profiles themselves, the very ones flames.py
writes for the learner's seed (the checker runs the same generator):

- a function's self time is the samples in which it is the leaf frame, summed over
  every stack it ends; its share is that over all samples of the profile, in %;
- ``top_self_before``: the function with the most self time in before.folded;
- ``share_under_pct``: the share of after.folded's samples whose stack contains the
  frame flames.py names for the seed, in %;
- ``regressed_function`` and ``regression_pp``: the function whose self share grew the
  most from before to after, and by how many percentage points.

Names are read strictly: one frame name as the profiles spell it, optionally with the
module prefix ``service.`` or ``service.py:`` or a trailing ``()``. Numbers are a JSON
number or text such as "31.4", "31.4%" or "31.4 pp". Credit for a number is full
within TOLERANCE_PP and falls linearly to nothing at ZERO_AT_PP:

    credit = 1 - clamp((error - TOLERANCE_PP) / (ZERO_AT_PP - TOLERANCE_PP), 0, 1)
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

TOLERANCE_PP, ZERO_AT_PP = 0.5, 3.0
KEYS = ("top_self_before", "share_under_pct", "regressed_function", "regression_pp")
EXAMPLE = (
    '{"top_self_before": "hmac.new", "share_under_pct": 12.5, '
    '"regressed_function": "format_money", "regression_pp": 4.2}'
)
PREFIXES = ("service.py:", "service.")
NUMBER_TEXT = re.compile(r"\s*([+-]?[0-9]+(?:\.[0-9]+)?)\s*(?:%|pp)?\s*")


@dataclass(frozen=True)
class Expected:
    top_self_before: str
    share_frame: str
    share_under_pct: float
    regressed_function: str
    regression_pp: float
    frames: frozenset[str]  # every frame name in either profile


@dataclass(frozen=True)
class Graded:
    credit: float  # 0 to 1
    output: str


def self_shares(counts: dict[str, int]) -> dict[str, float]:
    """Each function's self time as a share of all samples, in %."""
    total = sum(counts.values())
    shares: dict[str, float] = {}
    for stack, samples in counts.items():
        leaf = stack.rpartition(";")[2]
        shares[leaf] = shares.get(leaf, 0.0) + samples
    return {name: 100 * samples / total for name, samples in shares.items()}


def share_under(counts: dict[str, int], frame: str) -> float:
    """The share of all samples, in %, whose stack holds ``frame`` (once, however deep)."""
    total = sum(counts.values())
    under = sum(samples for stack, samples in counts.items() if frame in stack.split(";"))
    return 100 * under / total


def expected(before: dict[str, int], after: dict[str, int], share_frame: str) -> Expected:
    old, new = self_shares(before), self_shares(after)
    growth = {name: new.get(name, 0.0) - old.get(name, 0.0) for name in {*old, *new}}
    regressed = max(sorted(growth), key=growth.__getitem__)
    frames = {name for stack in (*before, *after) for name in stack.split(";")}
    return Expected(
        top_self_before=max(sorted(old), key=old.__getitem__),
        share_frame=share_frame,
        share_under_pct=share_under(after, share_frame),
        regressed_function=regressed,
        regression_pp=growth[regressed],
        frames=frozenset(frames),
    )


def parse(data: bytes | None) -> tuple[dict | None, str]:
    """(the JSON object, "") or (None, what is wrong with answers.json)."""
    if data is None:
        return None, f"answers.json is missing: hand in an object such as {EXAMPLE}."
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        return None, f"answers.json is not valid JSON ({error}): expected {EXAMPLE}."
    if not isinstance(value, dict):
        return None, f"answers.json must be one JSON object, such as {EXAMPLE}."
    return value, ""


def read_frame(value: object, frames: frozenset[str]) -> str | None:
    """The one frame name ``value`` names, in one of the accepted forms, else None."""
    if not isinstance(value, str):
        return None
    name = value.strip().removesuffix("()")
    if name in frames:
        return name
    for prefix in PREFIXES:
        if name.startswith(prefix) and name[len(prefix) :] in frames:
            return name[len(prefix) :]
    return None


def read_number(value: object) -> float | None:
    """One finite number: a JSON number, or text such as "31.4", "31.4%", "31.4 pp"."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        match = NUMBER_TEXT.fullmatch(value)
        return float(match.group(1)) if match else None
    return None


def falling(error: float) -> float:
    """1 within TOLERANCE_PP, 0 from ZERO_AT_PP, linear between."""
    return 1.0 - min(1.0, max(0.0, (error - TOLERANCE_PP) / (ZERO_AT_PP - TOLERANCE_PP)))


def _shown(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)[:80]


def grade_frame(answers: dict, key: str, want: str, frames: frozenset[str]) -> Graded:
    if answers.get(key) in (None, "", "?"):
        return Graded(0.0, f"{key}: no answer; name one frame as the profiles spell it.")
    got = read_frame(answers[key], frames)
    if got is None:
        return Graded(
            0.0,
            f"{key}: read {_shown(answers[key])}, which names no single frame of your "
            "profiles. Give exactly one name as it appears in the folded stacks (such as "
            '"json.dumps"; "service.format_money" and "format_money()" are read too).',
        )
    if got != want:
        return Graded(0.0, f"{key}: {got} is not the frame the profiles show.")
    return Graded(1.0, f"{key}: {got}, right.")


def grade_number(answers: dict, key: str, want: float) -> Graded:
    if answers.get(key) is None:
        return Graded(0.0, f"{key}: no answer; one number of percentage points, such as 12.5.")
    got = read_number(answers[key])
    if got is None:
        return Graded(
            0.0,
            f"{key}: read {_shown(answers[key])}; expected exactly one number, such as 12.5 "
            '(or the text "12.5%").',
        )
    credit = falling(abs(got - want))
    if credit == 1.0:
        return Graded(1.0, f"{key}: {got:g}, right (within {TOLERANCE_PP:g} pp).")
    return Graded(
        credit,
        f"{key}: {got:g} is not within {TOLERANCE_PP:g} pp of what your seed's profiles "
        f"show; {credit:.0%} of the points (credit falls to nothing at {ZERO_AT_PP:g} pp "
        "off). Are these your seed's profiles, and is it a share of all the samples of the "
        "profile the question names?",
    )
