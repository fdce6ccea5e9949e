"""A regrade through a real Celery worker (consuming `grading` and `regrade`) and Docker."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from cohorts.models import Membership
from cohorts.services import regrade_apply, regrade_start
from grading.models import GradeRun, Submission
from grading.services import submission_create
from tests.worker_process import ROOT, database_url, wait_for

LAB = Path(__file__).resolve().parents[2] / "labs" / "hello-sandbox"
pytestmark = [pytest.mark.docker, pytest.mark.worker]


@pytest.fixture
def regrade_worker(transactional_db, tmp_path, settings):
    """A worker on both queues, as a deployment runs it (`--queues grading,regrade`)."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    log_path = tmp_path / "worker.log"
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": database_url(),
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "LABS_DIR": str(settings.LABS_DIR),
            "MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "PYTHONPATH": os.pathsep.join(["platform", "."]),
        }
    )
    processes = []

    def start():
        log = log_path.open("w")
        process = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "downstack", "worker",
                "--queues", "grading,regrade", "--concurrency", "1", "--loglevel", "INFO",
                "--without-mingle", "--without-gossip",
                "--hostname", f"regrade-{os.getpid()}-{time.monotonic_ns()}@%h",
            ],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        processes.append((process, log))
        wait_for(lambda: "ready." in log_path.read_text(), timeout=60)
        return log_path

    yield start
    for process, log in processes:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def test_a_regrade_runs_on_the_worker_and_replaces_the_score_only_when_applied(
    cohort, instructor, learner, hello_lab, grader_image, regrade_worker
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
    log = regrade_worker()
    run = regrade.runs().get()

    def graded():
        """the regrade run to finish"""
        return GradeRun.objects.filter(pk=run.pk, status="graded").first()

    run = wait_for(graded, timeout=120)
    assert run.score == 10, log.read_text()[-3000:]
    assert Submission.objects.get(pk=submission.pk).score == 3  # the dry run changed nothing
    assert "grading.regrade_run" in log.read_text()
    regrade_apply(regrade=regrade)
    applied = Submission.objects.get(pk=submission.pk)
    assert applied.score == 10 and applied.tests.count() == 6
    run.refresh_from_db()
    assert run.previous["score"] == 3
    assert settings.CELERY_TASK_ROUTES["grading.regrade_run"]["queue"] == "regrade"
