"""The rules cohorts give grading (grading.policy): due dates that close work, which
instructors may see which learners' submissions, and keeping the cohorts' standings."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth import get_user_model
from django.db.models import Max, QuerySet
from django.utils import timezone

from cohorts.models import Assignment, Membership, Standing


class CohortRules:
    def submission_refusal(self, *, user, lab, now: datetime | None = None) -> str | None:
        closed = Assignment.objects.closed_to(user, lab, now)
        if closed is None:
            return None
        due = timezone.localtime(closed.due_at)
        return (
            f"{lab.title} closed at its due date, {due:%a %d %b %H:%M} ({due.tzname()}), in "
            f"{closed.cohort.name}, which does not accept late work. "
            "Your files were not submitted; you can keep them."
        )

    def due_at(self, *, user_id, lab) -> datetime | None:
        return Assignment.objects.filter(
            lab=lab,
            cohort__memberships__user_id=user_id,
            cohort__memberships__role=Membership.Role.LEARNER,
        ).aggregate(due=Max("due_at"))["due"]

    def grades_published(self, *, user_id, lab) -> bool:
        # Every cohort that assigns the lab to them has published: one that has not yet
        # may still be grading it, and its checks stay closed to this learner until then.
        published = Assignment.objects.filter(
            lab=lab,
            cohort__memberships__user_id=user_id,
            cohort__memberships__role=Membership.Role.LEARNER,
        ).values_list("grades_published_at", flat=True)
        return bool(published) and all(published)

    def taught_learners(self, user) -> QuerySet:
        # Small, and independent of submissions: the people who learn in a cohort this
        # user teaches.
        return get_user_model().objects.filter(
            cohort_memberships__role=Membership.Role.LEARNER,
            cohort_memberships__cohort__memberships__user=user,
            cohort_memberships__cohort__memberships__role=Membership.Role.INSTRUCTOR,
        )

    def progress_changed(self, *, user_id, lab_id) -> None:
        assigned = Assignment.objects.filter(
            lab_id=lab_id,
            cohort__memberships__user_id=user_id,
            cohort__memberships__role=Membership.Role.LEARNER,
        )
        Standing.objects.refresh(assigned, user_ids=[user_id])
