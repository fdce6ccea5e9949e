"""Part A: the two numbers the learner reads off their seed's incident dashboard.

With the starter's policy on the learner's seed (shape "incident"):

- the metastable second: the first second of the dashboard whose offered load (attempts
  that reached the backend, retries included) exceeds the backend's healthy capacity,
  the load that even a healthy backend can no longer keep up with;
- the retry amplification factor: from the first second after the slowdown (capacity
  back to healthy) to the last second of the dashboard, the attempts offered per user
  request: the sum of `offered` over the sum of `requests`.

diagnosis.json names each as one number. Credit per answer is full within a tolerance
and falls linearly to nothing at a larger error, so a near miss earns most of it:

    credit = points x (1 - clamp((error - tolerance) / (zero_at - tolerance), 0, 1))
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

from scoring import falling
from simulate import HEALTHY_CAPACITY, Result

SECOND_TOLERANCE, SECOND_ZERO_AT = 1, 5
AMPLIFICATION_TOLERANCE, AMPLIFICATION_ZERO_AT = 0.05, 0.3
KEYS = ("metastable_second", "amplification")
# An honest number written as text: "3.41", "3.41x", "3.41×" (the factor's usual forms).
NUMBER_TEXT = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*[x×]?\s*")
EXAMPLE = '{"metastable_second": 42, "amplification": 2.75}'


@dataclass(frozen=True)
class Expected:
    metastable_second: int
    amplification: float


@dataclass(frozen=True)
class Graded:
    score: float
    passed: bool
    output: str


def expected(result: Result) -> Expected:
    """The two answers, computed from the dashboard exactly as the README defines them."""
    rows = result.dashboard
    over = [row["second"] for row in rows if row["offered"] > HEALTHY_CAPACITY]
    if not over:
        # The starter's policy goes metastable on every incident (a unit test checks).
        raise ValueError(f"seed {result.seed}: the incident never passed the capacity")
    trigger = result.shape.trigger
    after = rows[trigger.end_s :]
    requests = sum(row["requests"] for row in after)
    offered = sum(row["offered"] for row in after)
    return Expected(over[0], offered / requests)


def read_number(value: object) -> float | None:
    """One finite number, given as a JSON number or as text such as "3.41" or "3.41x"."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        match = NUMBER_TEXT.fullmatch(value)
        return float(match.group(1)) if match else None
    return None


def parse(data: bytes | None) -> tuple[dict[str, object] | None, str]:
    """(the JSON object, "") or (None, what is wrong with diagnosis.json)."""
    if data is None:
        return None, f"diagnosis.json is missing: hand in an object such as {EXAMPLE}."
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        return None, f"diagnosis.json is not valid JSON ({error}): expected {EXAMPLE}."
    if not isinstance(value, dict):
        return None, f"diagnosis.json must be one JSON object, such as {EXAMPLE}."
    return value, ""


def _describe(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)[:80]


def grade_second(answers: dict, want: Expected, points: float) -> Graded:
    name = "metastable_second"
    if answers.get(name) is None:
        return Graded(0.0, False, f"No {name} given: one whole second of the dashboard.")
    got = read_number(answers[name])
    if got is None or got != int(got):
        return Graded(
            0.0,
            False,
            f"{name} must name exactly one second, a whole number such as 42; read "
            f"{_describe(answers[name])}.",
        )
    error = abs(int(got) - want.metastable_second)
    credit = falling(error, SECOND_TOLERANCE, SECOND_ZERO_AT)
    return _graded(name, int(got), credit, points, f"within {SECOND_TOLERANCE} s")


def grade_amplification(answers: dict, want: Expected, points: float) -> Graded:
    name = "amplification"
    if answers.get(name) is None:
        return Graded(0.0, False, f"No {name} given: one number, such as 2.75.")
    got = read_number(answers[name])
    if got is None:
        return Graded(
            0.0,
            False,
            f'{name} must be exactly one number, such as 2.75 (or the text "2.75x"); '
            f"read {_describe(answers[name])}.",
        )
    error = abs(got - want.amplification)
    credit = falling(error, AMPLIFICATION_TOLERANCE, AMPLIFICATION_ZERO_AT)
    return _graded(name, got, credit, points, f"within {AMPLIFICATION_TOLERANCE:g}")


def _graded(name: str, got: float, credit: float, points: float, tolerance: str) -> Graded:
    score = round(points * credit, 2)
    if credit == 1.0:
        return Graded(points, True, f"{name} {got:g}: right ({tolerance}).")
    return Graded(
        score,
        False,
        f"{name} {got:g}: not {tolerance} of the value on your seed's dashboard; "
        f"{score:g} of {points:g} points (the credit falls with the distance). Is the "
        "dashboard from your seed, with the starter's policy, and does your reading follow "
        "the README's definition to the second?",
    )
