"""What grading asks of the layer that organises learners: due dates and who teaches whom,
and what it tells that layer: that a learner's graded work changed.

Grading sits below cohorts and imports nothing from it. Cohorts installs its rules here
when Django starts (cohorts.apps); without them nothing closes, no lab has a due date
and nobody teaches anyone, which is how grading behaves on its own (and in its tests).
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from django.contrib.auth import get_user_model
from django.db.models import QuerySet


class Policy(Protocol):
    def submission_refusal(self, *, user, lab, now: datetime | None = None) -> str | None:
        """Why `user` may not submit to `lab` now, in words for them; None if they may."""
        ...

    def due_at(self, *, user_id, lab) -> datetime | None:
        """The learner's due date for the lab (the latest over their cohorts), or None."""
        ...

    def grades_published(self, *, user_id, lab) -> bool:
        """Whether the learner's grades for the lab are published (in every cohort that
        assigns it to them); checks marked `after_published` open then."""
        ...

    def taught_learners(self, user) -> QuerySet:
        """The users whose work `user` may see as their instructor."""
        ...

    def progress_changed(self, *, user_id, lab_id) -> None:
        """A learner's graded attempts at a lab changed (graded, or a regrade applied)."""
        ...


class NoCohorts:
    """The rules when nothing organises learners: grading on its own."""

    def submission_refusal(self, *, user, lab, now: datetime | None = None) -> str | None:
        return None

    def due_at(self, *, user_id, lab) -> datetime | None:
        return None

    def grades_published(self, *, user_id, lab) -> bool:
        return False

    def taught_learners(self, user) -> QuerySet:
        return get_user_model().objects.none()

    def progress_changed(self, *, user_id, lab_id) -> None:
        pass


_current: Policy = NoCohorts()


def install(policy: Policy) -> None:
    """Make `policy` the rules grading follows (called once, from an AppConfig.ready)."""
    global _current
    _current = policy


def current() -> Policy:
    return _current
