"""The Docker engine stopped under a running worker: submissions wait with a clear status,
staff see an alert, and both clear once the engine is back and the retries grade them.

This stops the machine's real engine, so it runs last and keeps the outage short.
"""

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.urls import reverse

from grading.intake import submission_create
from grading.models import Submission
from grading.reaper import submissions_reap
from tests.faults.injection import NAPPING_CHECKS, past_every_deadline
from tests.worker_process import ROOT, finished, wait_for

pytestmark = [
    pytest.mark.docker,
    pytest.mark.worker,
    pytest.mark.stops_docker,
    pytest.mark.skipif(os.geteuid() != 0, reason="stopping the Docker engine needs root"),
]
STOP_WAIT_S = 30


def docker_up() -> bool:
    return subprocess.run(["docker", "info"], capture_output=True).returncode == 0


def stop_docker() -> None:
    """Stop the engine the way scripts/host-setup.sh would restart it."""
    if Path("/run/systemd/system").is_dir():
        # The socket unit would start the engine again on the first request.
        subprocess.run(["systemctl", "stop", "docker.socket", "docker"], check=True)
        return
    pid = int(Path("/var/run/docker.pid").read_text())
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_WAIT_S
    while Path(f"/proc/{pid}").exists():
        assert time.monotonic() < deadline, f"dockerd (pid {pid}) did not stop"
        time.sleep(0.2)


@contextmanager
def docker_stopped():
    """The engine stopped for the block; started again with the project's own host setup."""
    stop_docker()
    try:
        yield
    finally:
        setup = subprocess.run(
            ["scripts/host-setup.sh"],
            cwd=ROOT,
            env={**os.environ, "PYTHON": sys.executable},
            capture_output=True,
            text=True,
        )
        assert setup.returncode == 0 and docker_up(), setup.stdout + setup.stderr


def test_without_docker_submissions_wait_with_a_clear_status_and_are_graded_when_it_returns(
    client, learner, staff, napping_lab, grader_image, start_worker
):
    lab = napping_lab(0)
    worker = start_worker()
    with docker_stopped():
        waiting = [
            submission_create(user=learner, lab=lab, files={"main.py": b"print(1)\n"})
            for _ in range(2)
        ]

        def all_failed_once():
            """every submission to meet the stopped engine"""
            return not Submission.objects.filter(
                pk__in=[s.pk for s in waiting], infra_failures=0
            ).exists()

        wait_for(all_failed_once, timeout=120)
        # Stopped, so that no retry claims a row while it is looked at; the retries are
        # the fresh worker's below.
        worker.stop()
        for row in Submission.objects.filter(pk__in=[s.pk for s in waiting]):
            assert row.status == Submission.Status.QUEUED
            assert "will retry" in row.status_detail
            assert "does not count as an attempt" in row.status_detail
            assert "Docker is not running" in row.last_infra_error
        client.force_login(learner)
        page = client.get(waiting[0].get_absolute_url()).content.decode()
        assert "Could not be graded yet" in page and "will retry automatically" in page
        client.force_login(staff)
        page = client.get(reverse("catalog:lab_list")).content.decode()
        assert "2 submission(s) are waiting because grading infrastructure failed" in page
        assert "Docker is not running" in page

    # Reaped while no worker runs, so that no retry message the stopped worker left on the
    # broker can claim a row first; whichever message arrives first, the claim grades each
    # row once.
    assert sorted(submissions_reap(now=past_every_deadline())) == sorted(s.pk for s in waiting)
    fresh = start_worker()
    graded = [wait_for(finished(s.pk), timeout=120) for s in waiting]
    for row in graded:
        assert row.status == Submission.Status.GRADED, fresh.output()[-3000:]
        assert row.passed() and row.status_detail == ""
        assert row.tests.count() == NAPPING_CHECKS
        assert row.counts_as_attempt()
    assert "waiting because grading infrastructure failed" not in (
        client.get(reverse("catalog:lab_list")).content.decode()
    )
