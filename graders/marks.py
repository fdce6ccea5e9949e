"""The one rule for full marks, shared by the results contract, the host and `labs check`.

Checkers add up floats (0.1 + 0.2 != 0.3), so a score within a millionth of the maximum
(relative, and never less than a millionth of a point) is full marks. Everything that
asks "did this pass?" asks here, in Python or, through `full_marks_floor`, in SQL.
"""

from __future__ import annotations

# Relative slack a score may fall short of its maximum and still count as full marks.
FULL_MARKS_TOLERANCE = 1e-6


def score_tolerance(max_score: float) -> float:
    """How far a score may miss (or, in a results document, exceed) `max_score` by rounding."""
    return FULL_MARKS_TOLERANCE * max(1.0, max_score)


def full_marks_floor(max_score: float) -> float:
    """The lowest score that is full marks out of `max_score`."""
    return max_score - score_tolerance(max_score)


def is_full_marks(score: float | None, max_score: float | None) -> bool:
    """True when `score` is the whole of a positive `max_score`, up to rounding."""
    if score is None or max_score is None or max_score <= 0:
        return False
    return score >= full_marks_floor(max_score)
