"""A worker SIGKILLed while its container runs: the reaper re-queues the work, a fresh
worker grades it once, no attempt is used up and no sandbox container is left behind."""

import contextlib
import uuid

import docker
import docker.errors
import pytest

from grading.models import GradeRun, LabProgress, Submission
from grading.services import (
    attempts_check,
    graderuns_enqueue,
    submission_create,
    submissions_reap,
)
from tests.faults.injection import (
    NAPPING_CHECKS,
    NAPPING_SCORE,
    past_every_deadline,
    sandbox_containers,
)
from tests.worker_process import finished, wait_for

pytestmark = [pytest.mark.docker, pytest.mark.worker]
NAP_S = 3


@pytest.fixture
def kill_mid_grade():
    """SIGKILL a worker's process group once the sandbox for a submission runs.

    The killed runs' containers are removed at the end, whatever the test found.
    """
    killed = []

    def kill(worker, submission_id) -> None:
        def running():
            """the submission's sandbox container to start"""
            return [c for c in sandbox_containers(submission_id) if c["State"] == "running"]

        wait_for(running, timeout=60)
        worker.kill()
        killed.append(submission_id)

    yield kill
    for submission_id in killed:
        for container in sandbox_containers(submission_id):
            with contextlib.suppress(docker.errors.NotFound):
                docker.from_env().api.remove_container(container["Id"], force=True)


def test_worker_killed_mid_grade_is_graded_once_by_a_fresh_worker_without_using_an_attempt(
    napping_lab, learner, grader_image, start_worker, kill_mid_grade
):
    lab = napping_lab(NAP_S, attempts_per_hour=2)
    doomed = start_worker()
    submission = submission_create(user=learner, lab=lab, files={"main.py": b"print(1)\n"})
    kill_mid_grade(doomed, submission.pk)
    assert Submission.objects.get(pk=submission.pk).status == Submission.Status.RUNNING

    fresh = start_worker()
    assert submissions_reap(now=past_every_deadline()) == [submission.pk]
    graded = wait_for(finished(submission.pk))

    assert graded.status == Submission.Status.GRADED, fresh.output()[-3000:]
    assert graded.score == graded.max_score == NAPPING_SCORE
    assert graded.deliveries == 2 and graded.claim_token is None
    assert graded.status_detail == ""
    assert graded.tests.count() == NAPPING_CHECKS
    assert fresh.output().count("succeeded") == 1
    # One attempt of the two per hour, as if the worker had never died.
    assert LabProgress.objects.get(user=learner, lab=lab).attempts == 1
    attempts_check(user=learner, lab=lab)


def test_regrade_killed_mid_grade_is_requeued_and_graded_once(
    napping_lab, learner, grader_image, start_worker, kill_mid_grade
):
    lab = napping_lab(NAP_S)
    submission = submission_create(user=learner, lab=lab, files={"main.py": b"print(1)\n"})
    Submission.objects.filter(pk=submission.pk).update(
        status=Submission.Status.GRADED, score=1, max_score=NAPPING_SCORE
    )
    run = GradeRun.objects.create(submission=submission, batch=uuid.uuid4())
    doomed = start_worker(queues="regrade")
    graderuns_enqueue(run_ids=[run.pk])
    kill_mid_grade(doomed, submission.pk)
    assert GradeRun.objects.get(pk=run.pk).status == GradeRun.Status.RUNNING

    fresh = start_worker(queues="regrade")
    assert submissions_reap(now=past_every_deadline()) == [run.pk]

    def regraded():
        """the regrade run to finish"""
        return GradeRun.objects.finished().filter(pk=run.pk).first()

    run = wait_for(regraded)
    assert run.status == GradeRun.Status.GRADED, fresh.output()[-3000:]
    assert run.score == NAPPING_SCORE and len(run.tests) == NAPPING_CHECKS
    assert run.claim_token is None
    assert fresh.output().count("succeeded") == 1
    assert Submission.objects.get(pk=submission.pk).score == 1  # a regrade is a dry run


def test_killed_runs_container_is_removed_once_the_submission_is_graded_again(
    napping_lab, learner, grader_image, start_worker, kill_mid_grade
):
    lab = napping_lab(NAP_S)
    doomed = start_worker()
    submission = submission_create(user=learner, lab=lab, files={"main.py": b"print(1)\n"})
    kill_mid_grade(doomed, submission.pk)
    start_worker()
    submissions_reap(now=past_every_deadline())
    wait_for(finished(submission.pk))

    # The fresh worker removed the killed run's container when it claimed the row, and
    # its own when its run ended.
    assert sandbox_containers(submission.pk) == []
