"""A regrade through a real Celery worker (consuming `grading` and `regrade`) and Docker."""

from pathlib import Path

import pytest
from django.conf import settings

from cohorts.models import Membership
from cohorts.services import regrade_apply, regrade_start
from grading.intake import submission_create
from grading.models import GradeRun, Submission
from tests.worker_process import wait_for

LAB = Path(__file__).resolve().parents[2] / "labs" / "hello-sandbox"
pytestmark = [pytest.mark.docker, pytest.mark.worker]


def test_a_regrade_runs_on_the_worker_and_replaces_the_score_only_when_applied(
    cohort, instructor, learner, hello_lab, grader_image, start_worker
):
    submission = submission_create(
        user=learner,
        lab=hello_lab,
        files={"logparse.py": (LAB / "solution" / "logparse.py").read_bytes()},
    )
    # Pretend an older, stricter checker gave it 3 out of 10 without grading it here.
    Submission.objects.filter(pk=submission.pk).update(
        status=Submission.Status.GRADED, score=3, max_score=10
    )
    assert Membership.objects.filter(cohort=cohort, user=learner).exists()
    regrade = regrade_start(cohort=cohort, lab=hello_lab, requested_by=instructor)
    # A worker on both queues, as a deployment runs it.
    worker = start_worker(queues="grading,regrade")
    run = regrade.runs.all().get()

    def graded():
        """the regrade run to finish"""
        return GradeRun.objects.filter(pk=run.pk, status="graded").first()

    run = wait_for(graded, timeout=120)
    assert run.score == 10, worker.output()[-3000:]
    assert Submission.objects.get(pk=submission.pk).score == 3  # the dry run changed nothing
    assert "grading.regrade_run" in worker.output()
    regrade_apply(regrade=regrade)
    applied = Submission.objects.get(pk=submission.pk)
    assert applied.score == 10 and applied.tests.count() == 12
    run.refresh_from_db()
    assert run.previous["score"] == 3
    assert settings.CELERY_TASK_ROUTES["grading.regrade_run"]["queue"] == "regrade"


def test_a_worker_on_both_queues_grades_fresh_submissions_before_regrades(
    cohort, instructor, learner, hello_lab, grader_image, start_worker
):
    files = {"logparse.py": (LAB / "solution" / "logparse.py").read_bytes()}
    for _ in range(3):
        earlier = submission_create(user=learner, lab=hello_lab, files=files)
        Submission.objects.filter(pk=earlier.pk).update(
            status=Submission.Status.GRADED, score=3, max_score=10
        )
    regrade = regrade_start(cohort=cohort, lab=hello_lab, requested_by=instructor)
    fresh = [submission_create(user=learner, lab=hello_lab, files=files) for _ in range(2)]
    # Everything is queued (three regrade runs first) before the one worker starts.
    worker = start_worker(queues="grading,regrade")

    def all_done():
        """every regrade run and fresh submission to finish"""
        runs = list(regrade.runs.all().filter(status="graded"))
        done = list(Submission.objects.filter(pk__in=[s.pk for s in fresh], status="graded"))
        return (runs, done) if len(runs) == 3 and len(done) == 2 else None

    runs, done = wait_for(all_done, timeout=240)
    assert max(s.finished_at for s in done) < min(r.started_at for r in runs), worker.output()[
        -3000:
    ]
