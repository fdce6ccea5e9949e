"""The grading workflow: accepting a submission, grading it once, recovering stuck ones.

Each function here is the one write path for its action; views, the API, Celery tasks
and management commands all come through them.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone

import graders
from catalog.labfiles import read_tree
from catalog.models import Lab
from catalog.sandbox import sandbox_options
from grading.models import Submission, SubmissionFile, TestResult

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 256 * 1024
MAX_TOTAL_BYTES = 1024 * 1024


class SubmissionRejected(Exception):
    """An upload that cannot be graded; the message tells the learner what to change."""


def _validate_files(lab: Lab, files: dict[str, bytes]) -> None:
    expected = set(lab.submit_files)
    unknown = sorted(set(files) - expected)
    if unknown:
        raise SubmissionRejected(
            f"This lab does not take {', '.join(unknown)}; it takes {', '.join(lab.submit_files)}."
        )
    missing = sorted(expected - set(files))
    if missing:
        raise SubmissionRejected(f"Missing file: {', '.join(missing)}.")
    for name, data in files.items():
        if not data:
            raise SubmissionRejected(f"{name} is empty.")
        if len(data) > MAX_FILE_BYTES:
            raise SubmissionRejected(
                f"{name} is {len(data):,} bytes; files may be at most {MAX_FILE_BYTES:,} bytes."
            )
    total = sum(len(d) for d in files.values())
    if total > MAX_TOTAL_BYTES:
        raise SubmissionRejected(
            f"The files add up to {total:,} bytes; a submission may be at most {MAX_TOTAL_BYTES:,}."
        )


def submission_create(*, user, lab: Lab, files: dict[str, bytes]) -> Submission:
    """Store a learner's files and queue them for grading once the row is committed."""
    if not lab.is_active:
        raise SubmissionRejected("This lab has been retired and no longer takes submissions.")
    _validate_files(lab, files)
    with transaction.atomic():
        submission = Submission.objects.create(
            user=user,
            lab=lab,
            lab_content_hash=lab.content_hash,
            seed=lab.seed_for(user),
            status=Submission.Status.QUEUED,
        )
        for name, data in sorted(files.items()):
            SubmissionFile.objects.create(
                submission=submission, name=name, size=len(data), content=ContentFile(data, name)
            )
        transaction.on_commit(lambda: submission_enqueue(submission_id=submission.pk))
    return submission


def submission_enqueue(*, submission_id) -> None:
    """Send the grading message. Safe to run twice: the worker's claim grades once."""
    from grading.tasks import grade_submission  # the task module imports this one

    Submission.objects.filter(pk=submission_id).update(enqueued_at=timezone.now())
    grade_submission.apply_async(args=[str(submission_id)])


def _claim(submission_id) -> uuid.UUID | None:
    token = uuid.uuid4()
    claimed = Submission.objects.filter(pk=submission_id, status=Submission.Status.QUEUED).update(
        status=Submission.Status.RUNNING,
        started_at=timezone.now(),
        claim_token=token,
        deliveries=F("deliveries") + 1,
        status_detail="",
    )
    return token if claimed else None


def submission_release(*, submission_id, token: uuid.UUID, reason: str) -> None:
    """Put a claimed submission back in the queue after an infrastructure failure."""
    Submission.objects.filter(
        pk=submission_id, status=Submission.Status.RUNNING, claim_token=token
    ).update(
        status=Submission.Status.QUEUED,
        claim_token=None,
        started_at=None,
        infra_failures=F("infra_failures") + 1,
        last_infra_error=reason[:2000],
        status_detail="Could not be graded yet: the grading machine is unavailable. "
        "It will retry automatically, and this does not count as an attempt.",
    )


def submission_release_running(*, submission_id, reason: str) -> None:
    """Release whatever claim a submission holds (the worker lost track of its token)."""
    token = Submission.objects.filter(pk=submission_id).values_list("claim_token", flat=True)
    for current in token:
        if current is not None:
            submission_release(submission_id=submission_id, token=current, reason=reason)


def submission_grade(*, submission_id) -> Submission | None:
    """Grade a queued submission in the sandbox and store the result.

    Safe to run twice: the atomic claim lets one delivery through and the others return
    None. Raises graders.InfrastructureError, after putting the row back in the queue,
    when Docker is unavailable; every other outcome is stored on the row.
    """
    token = _claim(submission_id)
    if token is None:
        log.info("submission %s: nothing to claim (already graded or being graded)", submission_id)
        return None
    submission = Submission.objects.select_related("lab").get(pk=submission_id)
    lab = submission.lab
    try:
        options = sandbox_options(lab)
        checker = read_tree(settings.LABS_DIR / lab.slug / "grader")
        files = {f.name: _read(f) for f in submission.files.all()}
        env = {"DOWNSTACK_SUBMISSION_ID": str(submission.pk)}
        if submission.seed is not None:
            env["DOWNSTACK_SEED"] = str(submission.seed)
        result = graders.run(checker=checker, submission=files, env=env, **options)
    except graders.InfrastructureError as exc:
        log.error("submission %s: grading infrastructure failed: %s", submission_id, exc)
        submission_release(submission_id=submission_id, token=token, reason=str(exc))
        raise
    except OSError as exc:
        # The lab's checker folder or the stored files are unreadable on this worker.
        log.error("submission %s: cannot read grading inputs: %s", submission_id, exc)
        submission_release(submission_id=submission_id, token=token, reason=str(exc))
        raise graders.InfrastructureError(f"cannot read grading inputs: {exc}") from exc
    _store_result(submission, token, options["image"], result)
    submission.refresh_from_db()
    return submission


def _read(stored: SubmissionFile) -> bytes:
    with stored.content.open("rb") as handle:
        return handle.read()


def _store_result(submission: Submission, token, image: str, result: graders.RunResult) -> None:
    facts = {
        "image": image,
        "exit_code": result.exit_code,
        "duration_s": result.duration_s,
        "peak_memory_bytes": result.peak_memory_bytes,
        "timed_out": result.timed_out,
        "oom_killed": result.oom_killed,
        "output_truncated": result.output_truncated,
        "grader_log": result.log[-20000:],
        "finished_at": timezone.now(),
        "claim_token": None,
    }
    if result.results is not None:
        outcome = {
            "status": Submission.Status.GRADED,
            "score": result.results.score,
            "max_score": result.results.max_score,
            "feedback": result.results.output,
            "status_detail": "",
        }
    elif result.error:
        log.error("submission %s: grader error: %s", submission.pk, result.error)
        outcome = {
            "status": Submission.Status.ERROR,
            "score": None,
            "max_score": None,
            "feedback": "",
            "status_detail": "The grader failed on this submission, so it has no score. "
            "Staff have been alerted; this does not count as an attempt.",
        }
    else:
        # The learner's program ran out of time or memory: a result, not a fault.
        outcome = {
            "status": Submission.Status.GRADED,
            "score": 0.0,
            "max_score": None,
            "feedback": "",
            "status_detail": result.failure_reason() or "Grading stopped before a result.",
        }
    with transaction.atomic():
        stored = Submission.objects.filter(
            pk=submission.pk, status=Submission.Status.RUNNING, claim_token=token
        ).update(**facts, **outcome)
        if not stored:
            log.warning("submission %s: claim lost before the result was stored", submission.pk)
            return
        if result.results is not None:
            TestResult.objects.bulk_create(
                TestResult(
                    submission_id=submission.pk,
                    position=i,
                    name=t.name,
                    score=t.score,
                    max_score=t.max_score,
                    status=t.status,
                    output=t.output,
                    visibility=t.visibility,
                    tags=list(t.tags),
                )
                for i, t in enumerate(result.results.tests)
            )


def submissions_reap(*, now=None) -> list:
    """Re-queue submissions that a worker left behind; returns their ids.

    Rows stuck in `running` past the hard time limit belonged to a worker that died;
    rows `queued` long after their last enqueue lost their broker message. Safe to run
    twice: re-queued rows get a fresh message and the claim grades them once.
    """
    now = now or timezone.now()
    stuck_before = now - timedelta(seconds=settings.GRADING_HARD_TIME_LIMIT_S)
    lost_before = now - timedelta(seconds=settings.GRADING_REQUEUE_AFTER_S)
    stuck = list(
        Submission.objects.filter(
            status=Submission.Status.RUNNING, started_at__lt=stuck_before
        ).values_list("pk", flat=True)
    )
    if stuck:
        Submission.objects.filter(pk__in=stuck, status=Submission.Status.RUNNING).update(
            status=Submission.Status.QUEUED,
            claim_token=None,
            started_at=None,
            status_detail="Grading was interrupted; it has been queued again.",
        )
    lost = list(
        Submission.objects.filter(status=Submission.Status.QUEUED, enqueued_at__lt=lost_before)
        .exclude(pk__in=stuck)
        .values_list("pk", flat=True)
    )
    for pk in stuck + lost:
        log.warning("submission %s: re-queued by the reaper", pk)
        submission_enqueue(submission_id=pk)
    return stuck + lost
