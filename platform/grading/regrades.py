"""Applying a graded regrade run: its result becomes the submission's, and the result it
replaces is kept on the run, so no result is ever lost."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from graders import TEST_FIELDS
from grading import pipeline, progress
from grading.models import GradeRun, Submission

_HISTORY_FIELDS = (
    "status",
    "score",
    "max_score",
    "feedback",
    "feedback_format",
    "extras",
    "status_detail",
    "image",
)


def graderun_apply(*, run_id) -> bool:
    """Make a graded run the submission's result, keeping the replaced result on the run.

    Returns False (and changes nothing) for a run that is not graded or already applied,
    so it is safe to run twice.
    """
    with transaction.atomic():
        run = (
            GradeRun.objects.select_for_update()
            .filter(pk=run_id, status=GradeRun.Status.GRADED, applied_at__isnull=True)
            .first()
        )
        if run is None:
            return False
        submission = Submission.objects.select_for_update().get(pk=run.submission_id)
        run.previous = {
            **{name: getattr(submission, name) for name in _HISTORY_FIELDS},
            "run": str(submission.current_run_id) if submission.current_run_id else None,
            "tests": list(submission.tests.values(*TEST_FIELDS)),
        }
        run.applied_at = timezone.now()
        run.save(update_fields=["previous", "applied_at"])
        Submission.objects.filter(pk=submission.pk).update(
            **run.facts,
            status=Submission.Status.GRADED,
            score=run.score,
            max_score=run.max_score,
            feedback=run.feedback,
            feedback_format=run.feedback_format,
            extras=run.extras,
            status_detail=run.status_detail,
            current_run=run,
        )
        pipeline.tests_replace(submission.pk, run.tests)
        progress.labprogress_refresh(user_id=submission.user_id, lab_id=submission.lab_id)
    return True
