"""How a learner's attempts count in a cohort: one rule for every page and export.

An attempt before the due date counts as graded. After it, an assignment that takes late
work takes `penalty_per_day` points off per started day late; one that closed counts
nothing. The cohort's score policy then keeps the best or the last counted attempt.

The heatmap, the learner's progress page, the at-risk list and the gradebook read a
`Standing` row per learner and assignment (cohorts.models), computed from the attempts
with `standing_fields`; the drill-down and the results export say the same of each
attempt through `attempt_count`. So every page agrees on which attempts count, and why.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from graders import is_full_marks

CLOSE = "close"  # Assignment.LatePolicy.CLOSE, here so that migrations can use these rules


class LateRule(Protocol):
    due_at: datetime
    late_policy: str
    penalty_per_day: float


def days_late(rule: LateRule, when: datetime) -> int:
    """Started days after the due date (an hour late is one day late)."""
    if when <= rule.due_at:
        return 0
    return math.ceil((when - rule.due_at) / timedelta(days=1))


def counted_percent(rule: LateRule, percent: float | None, when: datetime) -> float | None:
    """A score (percent of full marks) after the late policy; None when it does not count."""
    if percent is None:
        return None
    late = days_late(rule, when)
    if not late:
        return percent
    if rule.late_policy == CLOSE:
        return None
    return max(0.0, percent - rule.penalty_per_day * late)


@dataclass(frozen=True)
class AttemptCount:
    """How one graded attempt counts: its score after the late policy, and why."""

    percent: float | None  # as graded
    counted: float | None  # after the late policy; None when it does not count
    days_late: int

    @property
    def is_late(self) -> bool:
        return self.days_late > 0

    @property
    def note(self) -> str:
        """Why the counted score differs from the graded one, in words; '' on time (or
        not graded, when there is no score to count)."""
        if not self.days_late or self.percent is None:
            return ""
        days = f"{self.days_late} day{'s' if self.days_late != 1 else ''} late"
        if self.counted is None:
            return f"{days}, after the lab closed: not counted"
        taken = (self.percent or 0.0) - self.counted
        return f"{days}: −{taken:.0f} points" if taken else days


def attempt_count(rule: LateRule, percent: float | None, when: datetime) -> AttemptCount:
    return AttemptCount(percent, counted_percent(rule, percent, when), days_late(rule, when))


# A Standing row's fields before any graded attempt.
NO_ATTEMPTS: dict[str, Any] = {
    "attempts": 0,
    "counted_best": None,
    "best_days_late": 0,
    "counted_last": None,
    "last_days_late": 0,
    "late_attempts": 0,
    "uncounted_attempts": 0,
    "passed": False,
    "passed_on_time": False,
    "last_at": None,
}


def standing_fields(
    rule: LateRule, attempts: Iterable[tuple[datetime, float | None, float | None]]
) -> dict[str, Any]:
    """A Standing row's fields from one learner's graded (created_at, score, max_score)
    attempts at the lab, in time order."""
    fields = dict(NO_ATTEMPTS)
    for created_at, score, max_score in attempts:
        fields["attempts"] += 1
        fields["last_at"] = created_at
        percent = 100.0 * (score or 0.0) / max_score if max_score else 0.0
        count = attempt_count(rule, percent, created_at)
        if count.counted is None:
            fields["uncounted_attempts"] += 1
            continue
        fields["late_attempts"] += count.is_late
        full = is_full_marks(score, max_score)
        fields["passed"] |= full
        fields["passed_on_time"] |= full and not count.is_late
        if fields["counted_best"] is None or count.counted > fields["counted_best"]:
            fields["counted_best"], fields["best_days_late"] = count.counted, count.days_late
        fields["counted_last"], fields["last_days_late"] = count.counted, count.days_late
    return fields


def standing_rows(assignment, user_ids: list[int], *, models: dict) -> list:
    """Unsaved Standing rows of these learners on this assignment, from their graded
    attempts and their LabProgress rows. `models` names the Standing, Submission and
    LabProgress classes to use, so that a migration can pass its historical ones."""
    attempts: dict[int, list[tuple]] = {user_id: [] for user_id in user_ids}
    graded = (
        models["Submission"]
        .objects.filter(lab_id=assignment.lab_id, user_id__in=user_ids, status="graded")
        .order_by("created_at")
        .values_list("user_id", "created_at", "score", "max_score")
    )
    for user_id, created_at, score, max_score in graded:
        attempts[user_id].append((created_at, score, max_score))
    first_pass = {
        user_id: (to_pass, hours)
        for user_id, to_pass, hours in models["LabProgress"]
        .objects.filter(lab_id=assignment.lab_id, user_id__in=user_ids)
        .values_list("user_id", "attempts_to_pass", "hours_to_pass")
    }
    return [
        models["Standing"](
            assignment=assignment,
            user_id=user_id,
            attempts_to_pass=first_pass.get(user_id, (None, None))[0],
            hours_to_pass=first_pass.get(user_id, (None, None))[1],
            **standing_fields(assignment, mine),
        )
        for user_id, mine in attempts.items()
    ]


# What standing_rows fills (and a refresh rewrites) besides the keys.
ROW_FIELDS = (*NO_ATTEMPTS, "attempts_to_pass", "hours_to_pass")
