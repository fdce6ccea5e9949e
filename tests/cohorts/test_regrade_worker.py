"""A regrade through a real Celery worker (consuming `grading` and `regrade`) and Docker."""

from pathlib import Path

import pytest
from django.conf import settings

from cohorts.models import Membership
from cohorts.services import regrade_apply, regrade_start
from grading.models import GradeRun, Submission
from grading.services import submission_create
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
    run = regrade.runs().get()

    def graded():
        """the regrade run to finish"""
        return GradeRun.objects.filter(pk=run.pk, status="graded").first()

    run = wait_for(graded, timeout=120)
    assert run.score == 10, worker.output()[-3000:]
    assert Submission.objects.get(pk=submission.pk).score == 3  # the dry run changed nothing
    assert "grading.regrade_run" in worker.output()
    regrade_apply(regrade=regrade)
    applied = Submission.objects.get(pk=submission.pk)
    assert applied.score == 10 and applied.tests.count() == 6
    run.refresh_from_db()
    assert run.previous["score"] == 3
    assert settings.CELERY_TASK_ROUTES["grading.regrade_run"]["queue"] == "regrade"
