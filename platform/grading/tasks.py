"""Celery tasks: thin doorways into the grading pipeline and the reaper (ids in, one call)."""

import functools
import logging
from typing import Any

from celery import shared_task
from celery.exceptions import Reject, SoftTimeLimitExceeded
from celery.signals import worker_ready, worker_shutdown
from django.conf import settings
from django.db import DatabaseError, connection

import graders
from catalog.labfiles import DEFAULT_BUILD_TIMEOUT_S
from grading import heartbeat, imports, jobs, pipeline, queue, reaper
from grading.models import GradeRun, Submission

log = logging.getLogger(__name__)

# Both grading tasks: acknowledged only when done (a pool process that dies sends its
# message back), with limits nested inside the broker's visibility timeout (see settings).
GRADING_TASK_OPTIONS: dict[str, Any] = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "soft_time_limit": settings.GRADING_SOFT_TIME_LIMIT_S,
    "time_limit": settings.GRADING_HARD_TIME_LIMIT_S,
    "max_retries": settings.GRADING_MAX_RETRIES,
}


def retry_countdown(retries: int) -> int:
    """Exponential backoff for infrastructure failures, capped."""
    return min(settings.GRADING_RETRY_BACKOFF_S * 2**retries, settings.GRADING_RETRY_BACKOFF_MAX_S)


def _grade_or_retry(task, grade, release_current) -> None:
    """Run `grade()`; retry on infrastructure errors (the pipeline has given its claim
    back) and on the soft time limit, after `release_current(reason=...)` gives it back.

    A worker whose engine does not answer while another's does has stopped taking
    grading work (see grading.heartbeat), but still holds what it took before, such as
    a retry waiting for its countdown: that message goes back to the queue unclaimed, for
    the other, and counts as neither a retry nor an infrastructure failure."""
    hostname = task.request.hostname or ""
    if hostname and heartbeat.grades_elsewhere(hostname=hostname):
        raise Reject(f"worker {hostname}: its Docker engine does not answer", requeue=True)
    try:
        grade()
    except graders.InfrastructureError as exc:
        raise task.retry(exc=exc, countdown=retry_countdown(task.request.retries)) from exc
    except SoftTimeLimitExceeded as exc:
        release_current(reason="grading exceeded the worker's soft time limit")
        raise task.retry(exc=exc, countdown=retry_countdown(task.request.retries)) from exc


@shared_task(name=queue.GRADE_SUBMISSION, bind=True, **GRADING_TASK_OPTIONS)
def grade_submission(self, submission_id: str) -> None:
    """Safe to deliver twice: the pipeline's atomic claim grades a submission once.

    Only infrastructure errors are retried; a learner's failing code is a result. When
    the retries run out the row stays queued with its reason, and the reaper sends it
    again later, so nothing is lost.
    """
    _grade_or_retry(
        self,
        functools.partial(
            pipeline.submission_grade,
            submission_id=submission_id,
            worker=self.request.hostname or "",
        ),
        functools.partial(jobs.release_current, Submission, submission_id),
    )


@shared_task(name=queue.REAP)
def reap_submissions() -> int:
    """Safe to run twice: see reaper.submissions_reap."""
    return len(reaper.submissions_reap())


@shared_task(name=queue.REGRADE_RUN, bind=True, **GRADING_TASK_OPTIONS)
def regrade_run(self, run_id: str) -> None:
    """Routed to the `regrade` queue. Safe to deliver twice: the run is claimed atomically.

    Retried and released like grade_submission; the reaper covers runs whose worker died.
    """
    _grade_or_retry(
        self,
        functools.partial(
            pipeline.graderun_grade, run_id=run_id, worker=self.request.hostname or ""
        ),
        functools.partial(jobs.release_current, GradeRun, run_id),
    )


IMPORT_TIME_LIMIT_S = DEFAULT_BUILD_TIMEOUT_S + 300


@shared_task(
    name=imports.IMPORT_AUTOGRADER,
    soft_time_limit=IMPORT_TIME_LIMIT_S - 60,
    time_limit=IMPORT_TIME_LIMIT_S,
)
def import_autograder(import_id: str) -> None:
    """On the default queue. Safe to deliver twice: the import is claimed atomically, and
    one left running past the time limit (its worker died) is taken over."""
    imports.import_run(import_id=import_id, abandoned_after_s=IMPORT_TIME_LIMIT_S)


@worker_ready.connect
def reap_on_start(**_) -> None:
    """A worker that starts after a crash re-queues the dead worker's lapsed work at
    once, without waiting for the next beat (or for a beat at all)."""
    try:
        reaper.submissions_reap()
    except DatabaseError:
        log.exception("the reaper could not run at worker start; the beat will retry")
    finally:
        connection.close()  # the pool's processes keep their own connections


@worker_ready.connect
def heartbeat_on_start(sender=None, **_) -> None:
    """Every worker writes its heartbeat (and its engine's state) from start to stop, and
    leaves grading work to other workers while its engine does not answer. The sender
    is the worker's Consumer."""
    intake = heartbeat.GradingIntake(sender) if sender is not None else None
    heartbeat.start(hostname=getattr(sender, "hostname", "") or "celery", intake=intake)


@worker_shutdown.connect
def heartbeat_on_stop(**_) -> None:
    heartbeat.stop()
