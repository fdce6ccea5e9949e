"""The grading workflow: accepting a submission, grading it once, recovering stuck ones.

Each function here is the one write path for its action; views, the API, Celery tasks
and management commands all come through them.
"""

from __future__ import annotations

import functools
import logging
import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

import graders
from catalog.labfiles import checker_files
from catalog.models import Lab
from catalog.sandbox import sandbox_options
from cohorts.models import Assignment, LabOpening
from grading.models import (
    GradeRun,
    LabProgress,
    Submission,
    SubmissionFile,
    TestResult,
    progress_from_attempts,
)
from grading.uploads import SubmissionRejected, UploadRules, check_files

__all__ = [
    "SubmissionRejected",
    "graderun_apply",
    "graderun_grade",
    "graderun_release_running",
    "submission_create",
    "submission_grade",
    "submissions_reap",
]

log = logging.getLogger(__name__)


def upload_rules(lab: Lab) -> UploadRules:
    return UploadRules(
        allowed=tuple(lab.submit_files),
        max_file_bytes=lab.upload_kb * 1024,
        max_total_bytes=lab.upload_kb * 1024,
    )


# Room for multipart overhead and the editor's copy of the files beside the uploads.
UPLOAD_SLACK_BYTES = 256 * 1024


def upload_size_problem(*, lab: Lab, request) -> str | None:
    """Why a request body is too big to read at all for this lab, judged from its header."""
    declared = int(request.META.get("CONTENT_LENGTH") or 0)
    limit = upload_rules(lab).max_total_bytes
    if declared > 3 * limit + UPLOAD_SLACK_BYTES:
        return f"The upload is {declared:,} bytes; this lab takes at most {limit:,} bytes of files."
    return None


def latest_texts(user, lab: Lab) -> dict[str, str]:
    """What the editor starts with: the learner's latest submission, else the starter."""
    latest = Submission.objects.filter(user=user, lab=lab).order_by("-created_at").first()
    if latest is not None:
        return submission_texts(latest)
    starter = settings.LABS_DIR / lab.slug / "starter"
    return {
        name: (starter / name).read_text(encoding="utf-8", errors="replace")
        for name in lab.submit_files
        if (starter / name).is_file()
    }


def attempts_check(*, user, lab: Lab, now=None) -> None:
    """Refuse a submission past the lab's attempts per hour, saying when the next one opens.

    Submissions that failed through no fault of the learner (grader errors) never count.
    """
    if not lab.attempts_per_hour:
        return
    now = now or timezone.now()
    window = Submission.objects.filter(
        user=user, lab=lab, created_at__gt=now - timedelta(hours=1)
    ).exclude(status=Submission.Status.ERROR)
    times = list(window.order_by("created_at").values_list("created_at", flat=True))
    if len(times) < lab.attempts_per_hour:
        return
    opens = times[len(times) - lab.attempts_per_hour] + timedelta(hours=1)
    local = timezone.localtime(opens)
    raise SubmissionRejected(
        f"You have used all {lab.attempts_per_hour} attempts for this lab in the last hour. "
        f"Your next attempt is available at {local:%H:%M} ({local.tzname()}). "
        "Your files were not submitted; keep them and try again then."
    )


def deadline_check(*, user, lab: Lab, now=None) -> None:
    """Refuse work on a lab that the learner's cohorts closed at its due date."""
    closed = Assignment.objects.closed_to(user, lab, now)
    if closed is None:
        return
    due = timezone.localtime(closed.due_at)
    raise SubmissionRejected(
        f"{lab.title} closed at its due date, {due:%a %d %b %H:%M} ({due.tzname()}), in "
        f"{closed.cohort.name}, which does not accept late work. "
        "Your files were not submitted; you can keep them."
    )


def submission_create(*, user, lab: Lab, files: dict[str, bytes]) -> Submission:
    """Store a learner's files and queue them for grading once the row is committed."""
    if not lab.is_active:
        raise SubmissionRejected("This lab has been retired and no longer takes submissions.")
    check_files(files, upload_rules(lab))
    with transaction.atomic():
        # One learner's submissions are counted one at a time, so two quick clicks
        # cannot both take the last attempt of the hour.
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        attempts_check(user=user, lab=lab)
        deadline_check(user=user, lab=lab)
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
    release = functools.partial(submission_release, submission_id=submission_id, reason=reason)
    _release_current_claim(Submission, submission_id, release)


def _release_current_claim(model, pk, release) -> None:
    """Hand the claim a row holds now, if any, to `release(token=...)`."""
    token = model.objects.filter(pk=pk).values_list("claim_token", flat=True).first()
    if token is not None:
        release(token=token)


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
    release = functools.partial(submission_release, submission_id=submission_id, token=token)
    image, result = _run_checker(submission, release=release, run_key=f"submission-{submission.pk}")
    _store_result(submission, token, image, result)
    submission.refresh_from_db()
    return submission


def _run_checker(submission: Submission, *, release, run_key: str) -> tuple[str, graders.RunResult]:
    """Run the lab's checker over a submission's files; `release(reason=...)` gives the
    claim back when the platform, not the learner's code, failed.

    First it removes what a killed worker may have left on this engine: the container of
    an earlier attempt at the same work, and any that outlived the hard time limit."""
    lab = submission.lab
    try:
        graders.remove_leftovers(run_key=run_key, older_than_s=settings.GRADING_HARD_TIME_LIMIT_S)
        options = sandbox_options(lab)
        checker = checker_files(settings.LABS_DIR / lab.slug, lab.grader_include)
        files = {f.name: _read(f) for f in submission.files.all()}
        env = checker_env(submission_id=submission.pk, seed=submission.seed)
        result = graders.run(checker=checker, submission=files, env=env, run_key=run_key, **options)
    except graders.InfrastructureError as exc:
        log.error("submission %s: grading infrastructure failed: %s", submission.pk, exc)
        release(reason=str(exc))
        raise
    except OSError as exc:
        # The lab's checker folder or the stored files are unreadable on this worker.
        log.error("submission %s: cannot read grading inputs: %s", submission.pk, exc)
        release(reason=str(exc))
        raise graders.InfrastructureError(f"cannot read grading inputs: {exc}") from exc
    return options["image"], result


def checker_env(*, submission_id, seed: int | None) -> dict[str, str]:
    """The variables a submission's checker gets (its id, and the learner's seed if any)."""
    env = {"DOWNSTACK_SUBMISSION_ID": str(submission_id)}
    if seed is not None:
        env["DOWNSTACK_SEED"] = str(seed)
    return env


def submission_texts(submission: Submission) -> dict[str, str]:
    """A submission's files as text, for the editor, the file view and diffs."""
    return {f.name: _read(f).decode("utf-8", errors="replace") for f in submission.files.all()}


def _read(stored: SubmissionFile) -> bytes:
    with stored.content.open("rb") as handle:
        return handle.read()


def result_fields(submission_pk, image: str, result: graders.RunResult) -> tuple[dict, dict]:
    """The sandbox facts and the outcome of one run, as stored for a submission."""
    facts = {
        "image": image,
        "exit_code": result.exit_code,
        "duration_s": result.duration_s,
        "peak_memory_bytes": result.peak_memory_bytes,
        "timed_out": result.timed_out,
        "oom_killed": result.oom_killed,
        "output_truncated": result.output_truncated,
        "grader_log": result.log[-20000:],
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
        log.error("submission %s: grader error: %s", submission_pk, result.error)
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
    return facts, outcome


def result_test_rows(result: graders.RunResult) -> list[dict]:
    if result.results is None:
        return []
    return [
        {
            "name": t.name,
            "score": t.score,
            "max_score": t.max_score,
            "status": t.status,
            "output": t.output,
            "visibility": t.visibility,
            "tags": list(t.tags),
        }
        for t in result.results.tests
    ]


def _replace_tests(submission_pk, rows: list[dict]) -> None:
    TestResult.objects.filter(submission_id=submission_pk).delete()
    TestResult.objects.bulk_create(
        TestResult(submission_id=submission_pk, position=i, **row) for i, row in enumerate(rows)
    )


def _store_result(submission: Submission, token, image: str, result: graders.RunResult) -> None:
    facts, outcome = result_fields(submission.pk, image, result)
    with transaction.atomic():
        stored = Submission.objects.filter(
            pk=submission.pk, status=Submission.Status.RUNNING, claim_token=token
        ).update(**facts, **outcome, finished_at=timezone.now(), claim_token=None)
        if not stored:
            log.warning("submission %s: claim lost before the result was stored", submission.pk)
            return
        _replace_tests(submission.pk, result_test_rows(result))
        labprogress_refresh(user_id=submission.user_id, lab_id=submission.lab_id)


def labprogress_refresh(*, user_id, lab_id) -> LabProgress:
    """Recompute one learner's standing on a lab from their submissions. Safe to run twice."""
    attempts = (
        Submission.objects.filter(user_id=user_id, lab_id=lab_id)
        .order_by("created_at")
        .values_list("pk", "created_at", "status", "score", "max_score")
    )
    opened = LabOpening.objects.filter(user_id=user_id, lab_id=lab_id)
    fields = progress_from_attempts(
        attempts, opened_at=opened.values_list("first_opened_at", flat=True).first()
    )
    progress, _ = LabProgress.objects.update_or_create(
        user_id=user_id, lab_id=lab_id, defaults=fields
    )
    return progress


# Regrades. A GradeRun is graded like a submission (same checker run, same result
# fields) but into its own row, and only graderun_apply copies it onto the submission.


def graderuns_enqueue(*, run_ids) -> None:
    """Send the regrade messages (on their own, lower-priority queue). Safe to run twice."""
    from grading.tasks import regrade_run

    GradeRun.objects.filter(pk__in=run_ids).update(enqueued_at=timezone.now())
    for run_id in run_ids:
        regrade_run.apply_async(args=[str(run_id)])


def graderun_release(*, run_id, token: uuid.UUID, reason: str) -> None:
    GradeRun.objects.filter(pk=run_id, status=GradeRun.Status.RUNNING, claim_token=token).update(
        status=GradeRun.Status.QUEUED,
        claim_token=None,
        started_at=None,
        infra_failures=F("infra_failures") + 1,
        last_infra_error=reason[:2000],
    )


def graderun_release_running(*, run_id, reason: str) -> None:
    """Release whatever claim a regrade run holds (the worker lost track of its token)."""
    release = functools.partial(graderun_release, run_id=run_id, reason=reason)
    _release_current_claim(GradeRun, run_id, release)


def graderun_grade(*, run_id) -> GradeRun | None:
    """Grade a queued regrade run into its scratch result; the submission is untouched.

    Safe to run twice: the atomic claim lets one delivery through. Raises
    graders.InfrastructureError, after putting the run back in the queue, like
    submission_grade.
    """
    token = uuid.uuid4()
    claimed = GradeRun.objects.filter(pk=run_id, status=GradeRun.Status.QUEUED).update(
        status=GradeRun.Status.RUNNING, started_at=timezone.now(), claim_token=token
    )
    if not claimed:
        log.info("regrade run %s: nothing to claim", run_id)
        return None
    run = GradeRun.objects.select_related("submission__lab").get(pk=run_id)
    release = functools.partial(graderun_release, run_id=run_id, token=token)
    image, result = _run_checker(run.submission, release=release, run_key=f"graderun-{run.pk}")
    facts, outcome = result_fields(run.submission_id, image, result)
    GradeRun.objects.filter(pk=run_id, status=GradeRun.Status.RUNNING, claim_token=token).update(
        status=outcome.pop("status"),
        tests=result_test_rows(result),
        facts=facts,
        finished_at=timezone.now(),
        claim_token=None,
        **outcome,
    )
    run.refresh_from_db()
    return run


_HISTORY_FIELDS = ("status", "score", "max_score", "feedback", "status_detail", "image")


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
            "tests": list(
                submission.tests.values(
                    "name", "score", "max_score", "status", "output", "visibility", "tags"
                )
            ),
        }
        run.applied_at = timezone.now()
        run.save(update_fields=["previous", "applied_at"])
        Submission.objects.filter(pk=submission.pk).update(
            **run.facts,
            status=Submission.Status.GRADED,
            score=run.score,
            max_score=run.max_score,
            feedback=run.feedback,
            status_detail=run.status_detail,
            current_run=run,
        )
        _replace_tests(submission.pk, run.tests)
        labprogress_refresh(user_id=submission.user_id, lab_id=submission.lab_id)
    return True


def submissions_reap(*, now=None) -> list:
    """Re-queue submissions and regrade runs that a worker left behind; returns their ids.

    Rows stuck in `running` past the hard time limit belonged to a worker that died;
    rows `queued` long after their last enqueue lost their broker message. Safe to run
    twice: re-queued rows get a fresh message and the claim grades them once.
    """
    now = now or timezone.now()
    submissions = _requeue_left_behind(
        Submission,
        now=now,
        enqueue=lambda pk: submission_enqueue(submission_id=pk),
        status_detail="Grading was interrupted; it has been queued again.",
    )
    runs = _requeue_left_behind(
        GradeRun, now=now, enqueue=lambda pk: graderuns_enqueue(run_ids=[pk])
    )
    return submissions + runs


def _requeue_left_behind(model, *, now, enqueue, **requeued) -> list:
    """Put a grading model's stuck rows back in the queue and send every lost row again."""
    stuck_before = now - timedelta(seconds=settings.GRADING_HARD_TIME_LIMIT_S)
    lost_before = now - timedelta(seconds=settings.GRADING_REQUEUE_AFTER_S)
    running, queued = model.Status.RUNNING, model.Status.QUEUED
    stuck = list(
        model.objects.filter(status=running, started_at__lt=stuck_before).values_list(
            "pk", flat=True
        )
    )
    if stuck:
        model.objects.filter(pk__in=stuck, status=running).update(
            status=queued, claim_token=None, started_at=None, **requeued
        )
    # A row committed by a process that died before sending its message has no enqueued_at.
    never_sent = Q(enqueued_at__isnull=True, created_at__lt=lost_before)
    lost = list(
        model.objects.filter(Q(enqueued_at__lt=lost_before) | never_sent, status=queued)
        .exclude(pk__in=stuck)
        .values_list("pk", flat=True)
    )
    for pk in stuck + lost:
        log.warning("%s %s: re-queued by the reaper", model._meta.verbose_name, pk)
        enqueue(pk)
    return stuck + lost
