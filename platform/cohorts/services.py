"""Cohort workflows: creating one, joining with an invite, and regrading (dry run, apply,
discard)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from cohorts.models import Cohort, Invite, Membership, Regrade
from grading import queue, regrades
from grading.models import GradeRun, Submission


def cohort_create(*, name: str, creator) -> Cohort:
    """A new cohort, taught by the person who created it. Not safe to run twice: each
    call makes a cohort (names need not be unique)."""
    with transaction.atomic():
        cohort = Cohort.objects.create(name=name)
        cohort.add_member(creator, Membership.Role.INSTRUCTOR)
    return cohort


def cohort_join(*, code: str, user, now=None) -> Membership:
    """Join a cohort as a learner with a usable invite code (else cohorts.models.InviteInvalid,
    saying why). Safe to run twice: a member keeps their membership (and an instructor
    keeps their role)."""
    invite = Invite.objects.usable(code, now)
    membership, _ = Membership.objects.get_or_create(
        cohort=invite.cohort, user=user, defaults={"role": Membership.Role.LEARNER}
    )
    return membership


def regrade_submissions(*, cohort: Cohort, lab, learner=None, submission=None):
    """The graded submissions a regrade covers: always within the cohort's learners."""
    scope = Submission.objects.filter(
        lab=lab, user__in=cohort.learners(), status=Submission.Status.GRADED
    )
    if learner is not None:
        scope = scope.filter(user=learner)
    if submission is not None:
        scope = scope.filter(pk=submission.pk)
    return scope


def regrade_start(*, cohort: Cohort, lab, requested_by, learner=None, submission=None) -> Regrade:
    """Start a dry run: one scratch GradeRun per covered submission, graded on the
    `regrade` queue once this commits. Nothing a learner sees changes until applied."""
    with transaction.atomic():
        regrade = Regrade.objects.create(
            cohort=cohort,
            lab=lab,
            learner=learner,
            submission=submission,
            requested_by=requested_by,
        )
        covered = regrade_submissions(
            cohort=cohort, lab=lab, learner=learner, submission=submission
        ).values_list("pk", flat=True)
        runs = GradeRun.objects.bulk_create(
            GradeRun(submission_id=pk, regrade=regrade) for pk in covered.iterator()
        )
        ids = [run.pk for run in runs]
        transaction.on_commit(lambda: queue.graderuns_send(run_ids=ids))
    return regrade


class RegradeNotReady(Exception):
    """Applying now would mix old and new results; the message says why."""


def regrade_apply(*, regrade: Regrade) -> int:
    """Make every graded run of a finished dry run the current result; returns how many
    changed. Earlier results stay on the runs. Safe to run twice."""
    if regrade.state != Regrade.State.DRY_RUN:
        raise RegradeNotReady(f"This regrade was already {regrade.get_state_display().lower()}.")
    if regrade.runs.all().pending().exists():
        raise RegradeNotReady(
            "Some submissions are still being regraded. Apply once all of them are done."
        )
    with transaction.atomic():
        claimed = Regrade.objects.filter(pk=regrade.pk, state=Regrade.State.DRY_RUN).update(
            state=Regrade.State.APPLIED, decided_at=timezone.now()
        )
        if not claimed:
            return 0
        applied = sum(
            regrades.graderun_apply(run_id=pk)
            for pk in regrade.runs.all()
            .filter(status=GradeRun.Status.GRADED)
            .values_list("pk", flat=True)
        )
    regrade.refresh_from_db()
    return applied


def regrade_discard(*, regrade: Regrade) -> None:
    """Drop a dry run: its scratch results are kept for the record but never applied.
    Runs still queued are cancelled by their state (the worker finds nothing to claim)."""
    with transaction.atomic():
        Regrade.objects.filter(pk=regrade.pk, state=Regrade.State.DRY_RUN).update(
            state=Regrade.State.DISCARDED, decided_at=timezone.now()
        )
        regrade.runs.all().filter(status=GradeRun.Status.QUEUED).update(
            status=GradeRun.Status.ERROR, status_detail="Discarded before it was graded."
        )
    regrade.refresh_from_db()
