"""Celery tasks: thin doorways into grading.services (ids in, one service call)."""

import functools

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

import graders
from grading import services

# Both grading tasks: acknowledged only when done (a pool process that dies sends its
# message back), with limits nested inside the broker's visibility timeout (see settings).
GRADING_TASK_OPTIONS = {
    "bind": True,
    "acks_late": True,
    "reject_on_worker_lost": True,
    "soft_time_limit": settings.GRADING_SOFT_TIME_LIMIT_S,
    "time_limit": settings.GRADING_HARD_TIME_LIMIT_S,
    "max_retries": settings.GRADING_MAX_RETRIES,
}


def retry_countdown(retries: int) -> int:
    """Exponential backoff for infrastructure failures, capped."""
    return min(settings.GRADING_RETRY_BACKOFF_S * 2**retries, settings.GRADING_RETRY_BACKOFF_MAX_S)


def _grade_or_retry(task, grade, release_running) -> None:
    """Run `grade()`; retry on infrastructure errors (the service has given its claim
    back) and on the soft time limit, after `release_running(reason=...)` gives it back."""
    try:
        grade()
    except graders.InfrastructureError as exc:
        raise task.retry(exc=exc, countdown=retry_countdown(task.request.retries)) from exc
    except SoftTimeLimitExceeded as exc:
        release_running(reason="grading exceeded the worker's soft time limit")
        raise task.retry(exc=exc, countdown=retry_countdown(task.request.retries)) from exc


@shared_task(name="grading.grade_submission", **GRADING_TASK_OPTIONS)
def grade_submission(self, submission_id: str) -> None:
    """Safe to deliver twice: the service's atomic claim grades a submission once.

    Only infrastructure errors are retried; a learner's failing code is a result. When
    the retries run out the row stays queued with its reason, and the reaper sends it
    again later, so nothing is lost.
    """
    _grade_or_retry(
        self,
        functools.partial(services.submission_grade, submission_id=submission_id),
        functools.partial(services.submission_release_running, submission_id=submission_id),
    )


@shared_task(name="grading.reap_submissions")
def reap_submissions() -> int:
    """Safe to run twice: see services.submissions_reap."""
    return len(services.submissions_reap())


@shared_task(name="grading.regrade_run", **GRADING_TASK_OPTIONS)
def regrade_run(self, run_id: str) -> None:
    """Routed to the `regrade` queue. Safe to deliver twice: the run is claimed atomically.

    Retried and released like grade_submission; the reaper covers runs whose worker died.
    """
    _grade_or_retry(
        self,
        functools.partial(services.graderun_grade, run_id=run_id),
        functools.partial(services.graderun_release_running, run_id=run_id),
    )
