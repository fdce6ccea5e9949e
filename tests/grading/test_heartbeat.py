"""Worker heartbeats: one row per worker, rewritten at every beat with its engine's state,
and written by a real worker from its start."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

import graders
from grading import heartbeat
from grading.intake import submission_create
from grading.models import Submission, WorkerHeartbeat
from tests.worker_process import finished, wait_for


@pytest.mark.django_db
def test_a_beat_upserts_the_workers_row_with_its_engines_state():
    started = timezone.now() - timedelta(minutes=5)
    first = heartbeat.beat(hostname="w1@host", started_at=started, problem=None)
    assert first.engine_ok and first.engine_detail == ""

    second = heartbeat.beat(hostname="w1@host", started_at=started, problem="no engine")

    assert WorkerHeartbeat.objects.count() == 1
    assert second.pk == first.pk
    assert not second.engine_ok and second.engine_detail == "no engine"
    assert second.last_seen_at >= first.last_seen_at
    assert second.started_at == started


def test_an_engine_that_does_not_answer_is_named(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-such.sock")

    problem = graders.engine_problem(timeout_s=2)

    assert problem is not None and problem.startswith("the Docker engine does not answer")


@pytest.mark.docker
def test_the_engine_this_machine_runs_answers(grader_image):
    assert graders.engine_problem() is None


@pytest.mark.docker
@pytest.mark.worker
def test_a_real_worker_beats_and_names_itself_on_what_it_grades(
    learner, hello_lab, grader_image, start_worker
):
    start_worker(GRADING_HEARTBEAT_S="1")
    row = wait_for(lambda: WorkerHeartbeat.objects.first(), timeout=60)
    assert row.engine_ok, row.engine_detail
    # It keeps beating.
    wait_for(
        lambda: WorkerHeartbeat.objects.filter(
            pk=row.pk, last_seen_at__gt=row.last_seen_at
        ).exists(),
        timeout=60,
    )

    reference = (settings.LABS_DIR / "hello-sandbox" / "solution" / "logparse.py").read_bytes()
    submission = submission_create(user=learner, lab=hello_lab, files={"logparse.py": reference})
    graded = wait_for(finished(submission.pk), timeout=120)

    assert graded.status == Submission.Status.GRADED
    assert graded.worker == row.hostname


@pytest.mark.worker
def test_a_worker_whose_engine_is_down_says_so_in_its_heartbeat(db, start_worker, tmp_path):
    start_worker(GRADING_HEARTBEAT_S="1", DOCKER_HOST=f"unix://{tmp_path}/no-such.sock")

    row = wait_for(lambda: WorkerHeartbeat.objects.first(), timeout=60)

    assert not row.engine_ok
    assert row.engine_detail.startswith("the Docker engine does not answer")
