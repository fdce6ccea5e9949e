"""Sending grading messages to the broker.

Messages go by task name, so the code that queues work (intake, regrades, the reaper)
does not import the task module, which imports the pipeline. Sending is safe to repeat:
the worker's claim grades a job once however many messages arrive.
"""

from __future__ import annotations

from celery import current_app
from django.utils import timezone

from grading.models import GradeRun, Submission

GRADE_SUBMISSION = "grading.grade_submission"
REGRADE_RUN = "grading.regrade_run"
REAP = "grading.reap_submissions"


def submission_send(*, submission_id) -> None:
    """Queue a submission for grading (the `grading` queue, by the task routes)."""
    Submission.objects.filter(pk=submission_id).update(enqueued_at=timezone.now())
    current_app.send_task(GRADE_SUBMISSION, args=[str(submission_id)])


def graderuns_send(*, run_ids) -> None:
    """Queue regrade runs (on their own, lower-priority `regrade` queue)."""
    GradeRun.objects.filter(pk__in=run_ids).update(enqueued_at=timezone.now())
    for run_id in run_ids:
        current_app.send_task(REGRADE_RUN, args=[str(run_id)])
