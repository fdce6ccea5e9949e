"""A worker SIGKILLed while its container runs: its lease lapses, the reaper re-queues the
work, a fresh worker grades it once, no attempt is used up and no sandbox container is
left behind."""

import contextlib
import time

import docker
import docker.errors
import pytest

from downstack.celery import app
from grading.intake import attempts_check, submission_create
from grading.models import GradeRun, LabProgress, Submission
from grading.queue import graderuns_send
from grading.reaper import submissions_reap
from tests.faults.injection import (
    NAPPING_CHECKS,
    NAPPING_SCORE,
    past_every_deadline,
    sandbox_containers,
)
from tests.worker_process import finished, wait_for

pytestmark = [pytest.mark.docker, pytest.mark.worker]
# The worker is killed while its checker naps: long enough that noticing the running
# container (the engine's API is slow on a loaded machine) always comes first.
NAP_S = 12


def assert_graded_once_by(worker) -> None:
    """The worker logged one grading task done: it logs that after the result committed,
    so wait for the line before counting."""

    def grading_successes():
        """the worker to log its grading task's success"""
        lines = worker.output().splitlines()
        return [ln for ln in lines if "succeeded" in ln and "reap_submissions" not in ln]

    wait_for(grading_successes, timeout=60)
    assert len(grading_successes()) == 1, worker.output()[-3000:]


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
    assert_graded_once_by(fresh)
    # One attempt of the two per hour, as if the worker had never died.
    assert LabProgress.objects.get(user=learner, lab=lab).attempts == 1
    attempts_check(user=learner, lab=lab)


def test_regrade_killed_mid_grade_is_requeued_and_graded_once(
    napping_lab, learner, grader_image, start_worker, kill_mid_grade, make_regrade
):
    lab = napping_lab(NAP_S)
    submission = submission_create(user=learner, lab=lab, files={"main.py": b"print(1)\n"})
    Submission.objects.filter(pk=submission.pk).update(
        status=Submission.Status.GRADED, score=1, max_score=NAPPING_SCORE
    )
    run = GradeRun.objects.create(submission=submission, regrade=make_regrade(lab))
    doomed = start_worker(queues="regrade")
    graderuns_send(run_ids=[run.pk])
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
    assert_graded_once_by(fresh)
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


# Short enough for a test, long enough that a loaded machine still renews in time (the
# renewal comes every third of it).
TEST_LEASE_S = 30
TEST_REAP_INTERVAL_S = 5


@pytest.fixture
def filesystem_broker(tmp_path, settings, monkeypatch):
    """The embedded default broker (kombu's filesystem transport) in this test's own
    folders, for the submitter and the workers (which find it under DOWNSTACK_VAR_DIR)."""
    var_dir = tmp_path / "var"
    folders = {sub: var_dir / "broker" / sub for sub in ("queue", "processed", "control")}
    for folder in folders.values():
        folder.mkdir(parents=True)
    options = {
        **settings.CELERY_BROKER_TRANSPORT_OPTIONS,
        "data_folder_in": str(folders["queue"]),
        "data_folder_out": str(folders["queue"]),
        "processed_folder": str(folders["processed"]),
        "control_folder": str(folders["control"]),
        "store_processed": False,
    }
    settings.CELERY_BROKER_URL = "filesystem://"  # what Worker passes to its process
    monkeypatch.setenv("CELERY_BROKER_URL", "filesystem://")
    monkeypatch.setitem(app.conf, "broker_transport_options", options)
    monkeypatch.setattr(app, "_pool", None)
    monkeypatch.setattr(app.amqp, "_producer_pool", None)
    return {
        "DOWNSTACK_VAR_DIR": str(var_dir),
        "GRADING_LEASE_S": str(TEST_LEASE_S),
        "GRADING_REAP_INTERVAL_S": str(TEST_REAP_INTERVAL_S),
    }


def test_whole_worker_killed_on_the_filesystem_broker_is_regraded_once_after_its_lease(
    filesystem_broker, napping_lab, learner, grader_image, start_worker, kill_mid_grade
):
    """The embedded defaults, as `make demo` runs them: one worker with the beat inside it
    is SIGKILLed (main process and pool) mid-grade. No broker redelivers the message (the
    filesystem transport has none to give back); the lease does the recovery."""
    lab = napping_lab(NAP_S)
    doomed = start_worker(queues="grading,default", beat=True, **filesystem_broker)
    submission = submission_create(user=learner, lab=lab, files={"main.py": b"print(1)\n"})
    kill_mid_grade(doomed, submission.pk)
    killed_at = time.monotonic()
    stranded = Submission.objects.get(pk=submission.pk)
    assert stranded.status == Submission.Status.RUNNING
    assert stranded.lease_expires_at is not None

    fresh = start_worker(queues="grading,default", beat=True, **filesystem_broker)
    # What the learner may wait at most: the lab's time limit, the lease, and a minute.
    bound = lab.timeout_s + TEST_LEASE_S + 60
    graded = wait_for(finished(submission.pk), timeout=bound - (time.monotonic() - killed_at))

    assert graded.status == Submission.Status.GRADED, fresh.output()[-3000:]
    assert graded.score == graded.max_score == NAPPING_SCORE
    assert graded.deliveries == 2 and graded.claim_token is None
    assert graded.lease_expires_at is None and graded.status_detail == ""
    assert graded.tests.count() == NAPPING_CHECKS
    assert_graded_once_by(fresh)
    assert LabProgress.objects.get(user=learner, lab=lab).attempts == 1
    # The killed run's container went when the fresh worker claimed the row again.
    assert sandbox_containers(submission.pk) == []
