"""Grading a job once: claim it, run the lab's checker in the sandbox under a renewed
lease, and store the outcome (grading.jobs holds the lifecycle).

A submission's result goes onto the submission with its checks and the learner's
progress; a regrade run's goes into the run's own scratch fields, which only
grading.regrades copies onto the submission.
"""

from __future__ import annotations

import functools
import logging

from django.conf import settings
from django.db import transaction

import graders
from catalog.labfiles import GRADESCOPE
from catalog.sandbox import checker_inputs, sandbox_options
from grading import jobs, progress
from grading.gradescope import submission_metadata
from grading.live import LiveChecks
from grading.models import GradeRun, JobStatus, Submission, TestResult

log = logging.getLogger(__name__)


def checker_env(*, submission_id, seed: int | None) -> dict[str, str]:
    """The variables a submission's checker gets (its id, and the learner's seed if any)."""
    env = {"DOWNSTACK_SUBMISSION_ID": str(submission_id)}
    if seed is not None:
        env["DOWNSTACK_SEED"] = str(seed)
    return env


def run_facts(image: str, result: graders.RunResult) -> dict:
    """The sandbox's facts about one run, as a submission stores them."""
    return {
        "image": image,
        "exit_code": result.exit_code,
        "duration_s": result.duration_s,
        "peak_memory_bytes": result.peak_memory_bytes,
        "timed_out": result.timed_out,
        "oom_killed": result.oom_killed,
        "output_truncated": result.output_truncated,
        # Bounded by the sandbox, which keeps the head and the tail of the checker's log.
        "grader_log": result.log,
    }


def outcome_fields(outcome: graders.Outcome) -> dict:
    """A job's result fields for an outcome: a grader error is `error`, all else `graded`."""
    return {
        "status": JobStatus.ERROR if outcome.is_grader_error else JobStatus.GRADED,
        "score": outcome.score,
        "max_score": outcome.max_score,
        "feedback": outcome.feedback,
        "feedback_format": outcome.feedback_format,
        "extras": dict(outcome.extras),
        "status_detail": outcome.detail,
    }


def submission_grade(*, submission_id, worker: str = "") -> Submission | None:
    """Grade a queued submission in the sandbox and store the result.

    Safe to run twice: the atomic claim lets one delivery through and the others return
    None. Raises graders.InfrastructureError, after putting the row back in the queue,
    when Docker is unavailable; every other outcome is stored on the row.
    """
    ran = _claim_and_run(Submission, submission_id, "submission", worker=worker)
    if ran is None:
        return None
    submission, token, image, result, outcome = ran
    with transaction.atomic():
        stored = jobs.store(
            Submission,
            submission.pk,
            token=token,
            **run_facts(image, result),
            **outcome_fields(outcome),
            running_check="",
        )
        if stored:
            tests_replace(submission.pk, outcome.test_rows())
            progress.labprogress_refresh(user_id=submission.user_id, lab_id=submission.lab_id)
    submission.refresh_from_db()
    return submission


def graderun_grade(*, run_id, worker: str = "") -> GradeRun | None:
    """Grade a queued regrade run into its scratch result; the submission is untouched.

    Safe to run twice, and raises graders.InfrastructureError like submission_grade.
    """
    ran = _claim_and_run(GradeRun, run_id, "graderun", worker=worker)
    if ran is None:
        return None
    run, token, image, result, outcome = ran
    jobs.store(
        GradeRun,
        run.pk,
        token=token,
        **outcome_fields(outcome),
        tests=outcome.test_rows(),
        facts=run_facts(image, result),
    )
    run.refresh_from_db()
    return run


def _claim_and_run(model: jobs.Job, pk, kind: str, *, worker: str):
    """Claim a queued job for `worker` and run its submission's checker under a renewed
    lease: the job, the claim's token, the image, the run and its outcome; None when
    there was nothing to claim."""
    token = jobs.claim(model, pk, worker=worker)
    if token is None:
        log.info("%s %s: nothing to claim (already graded or being graded)", kind, pk)
        return None
    job = model.objects.select_related("lab" if model is Submission else "submission__lab").get(
        pk=pk
    )
    submission = job if isinstance(job, Submission) else job.submission
    # A submission's checks are shown as they come; a regrade's only once it is applied.
    live = LiveChecks(pk, token) if model is Submission else None
    try:
        with jobs.lease_renewed(model, pk, token):
            image, result = _run_checker(
                submission,
                release=functools.partial(jobs.release, model, pk, token=token),
                run_key=f"{kind}-{job.pk}",
                on_progress=live,
            )
    finally:
        if live is not None:
            live.close()
    return job, token, image, result, _outcome(submission, result)


def tests_replace(submission_pk, rows: list[dict]) -> None:
    """Make `rows` (graders.TEST_FIELDS) the submission's checks, in their order."""
    TestResult.objects.filter(submission_id=submission_pk).delete()
    TestResult.objects.bulk_create(
        TestResult(submission_id=submission_pk, position=i, **row) for i, row in enumerate(rows)
    )


def _outcome(submission: Submission, result: graders.RunResult) -> graders.Outcome:
    outcome = graders.Outcome.of(result, partial_on_timeout=submission.lab.partial_on_timeout)
    if outcome.is_grader_error:
        log.error("submission %s: grader error: %s", submission.pk, outcome.error)
    return outcome


def _run_checker(
    submission: Submission, *, release, run_key: str, on_progress=None
) -> tuple[str, graders.RunResult]:
    """Run the lab's checker over a submission's files; `release(reason=...)` gives the
    claim back when the platform, not the learner's code, failed.

    First it removes what a killed worker may have left on this engine: the container of
    an earlier attempt at the same work, and any that outlived the hard time limit."""
    lab = submission.lab
    try:
        graders.remove_leftovers(run_key=run_key, older_than_s=settings.GRADING_HARD_TIME_LIMIT_S)
        options = sandbox_options(lab)
        metadata = submission_metadata(submission) if lab.dialect == GRADESCOPE else None
        checker = checker_inputs(
            lab, settings.LABS_DIR / lab.slug, lab.grader_include, metadata=metadata
        )
        files = {f.name: f.read_bytes() for f in submission.files.all()}
        env = checker_env(submission_id=submission.pk, seed=submission.seed)
        result = graders.run(
            checker=checker,
            submission=files,
            env=env,
            run_key=run_key,
            on_progress=on_progress,
            **options,
        )
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
