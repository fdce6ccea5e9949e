"""Two grading hosts on one machine: a second Docker engine (deploy/second-engine.sh) with
a worker of its own beside the machine's engine and its worker, one broker, one database.

Gradings spread over both and none runs twice; stopping one engine leaves the other
grading while the stopped one's work is given back and retried there; a host that dies
with work in hand has it re-queued by the reaper to the host that still grades.
"""

import os
import subprocess
import threading
from pathlib import Path

import docker
import pytest
from django.conf import settings

from grading.intake import submission_create
from grading.models import Submission, WorkerHeartbeat
from tests.faults.injection import NAPPING_CHECKER
from tests.worker_process import ROOT, finished, wait_for

pytestmark = [
    pytest.mark.deploy,
    pytest.mark.docker,
    pytest.mark.worker,
    pytest.mark.skipif(os.geteuid() != 0, reason="starting a second Docker engine needs root"),
]
SCRIPT = ROOT / "deploy" / "second-engine.sh"
ENGINE1 = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
GRADE_TIMEOUT_S = 300


class SecondEngine:
    """The second engine, under a folder of this test module's own."""

    def __init__(self, root: Path) -> None:
        self.env = {
            **os.environ,
            "ENGINE2_RUN_DIR": str(root / "run"),
            "ENGINE2_DATA_ROOT": str(root / "data"),
            "ENGINE1_HOST": ENGINE1,
        }
        self.host = f"unix://{root / 'run' / 'docker.sock'}"

    def run(self, command: str) -> str:
        done = subprocess.run(
            [str(SCRIPT), command], env=self.env, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, f"second-engine.sh {command}:\n{done.stdout}{done.stderr}"
        return done.stdout


@pytest.fixture(scope="module")
def second_engine(tmp_path_factory, grader_image):
    """A second engine with the grader images loaded from the first; stopped at the end."""
    engine = SecondEngine(tmp_path_factory.mktemp("engine2"))
    engine.run("start")
    try:
        engine.run("load-images")
        yield engine
    finally:
        engine.run("stop")


@pytest.fixture
def engine2(second_engine):
    """The second engine, running (a test before may have stopped it)."""
    second_engine.run("start")
    return second_engine


@pytest.fixture
def two_workers(start_worker, engine2):
    """A worker on each engine; their hostnames, engine 1's first. They beat every 3 s
    (each asks its engine every second whatever the interval), so that a loaded machine
    does not make a live worker look dead (three intervals)."""

    def start(**extra_env):
        hostnames = []
        for host in (ENGINE1, engine2.host):
            start_worker(GRADING_HEARTBEAT_S="3", DOCKER_HOST=host, **extra_env)
            row = wait_for(
                lambda: WorkerHeartbeat.objects.exclude(hostname__in=hostnames).first(),
                timeout=60,
            )
            assert row.engine_ok, row.engine_detail
            hostnames.append(row.hostname)
        return hostnames

    return start


def submit(learner, lab, files, count):
    return [submission_create(user=learner, lab=lab, files=files) for _ in range(count)]


def reference(lab):
    return {
        name: (settings.LABS_DIR / lab.slug / "solution" / name).read_bytes()
        for name in lab.submit_files
    }


def graded_all(submissions) -> list[Submission]:
    rows = [wait_for(finished(s.pk), timeout=GRADE_TIMEOUT_S) for s in submissions]
    for row in rows:
        assert row.status == Submission.Status.GRADED, (row.status, row.status_detail)
        assert row.passed(), (row.score, row.max_score)
    return rows


class SandboxCreations:
    """Watches an engine's events: the run key of every sandbox container it creates
    from now on (live, so that no other test's events can push them out of its buffer)."""

    def __init__(self, host: str) -> None:
        self.client = docker.DockerClient(base_url=host)
        self.keys: list[str] = []
        self.stream = self.client.events(
            decode=True,
            filters={"type": "container", "event": "create", "label": "downstack.sandbox"},
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for event in self.stream:
            self.keys.append(event["Actor"]["Attributes"].get("downstack.run", ""))

    def close(self) -> None:
        self.stream.close()
        self.reader.join(timeout=30)
        self.client.close()


def test_gradings_spread_over_both_engines_and_none_runs_twice(
    learner, hello_lab, grader_image, two_workers, engine2
):
    hostnames = two_workers()
    watches = [SandboxCreations(host) for host in (ENGINE1, engine2.host)]
    try:
        rows = graded_all(submit(learner, hello_lab, reference(hello_lab), 8))
    finally:
        for watch in watches:
            watch.close()

    assert {row.worker for row in rows} == set(hostnames)
    for row in rows:
        assert (row.deliveries, row.infra_failures, row.requeues) == (1, 0, 0)
        # It ran in exactly one sandbox, on the engine of the worker it names.
        key = f"submission-{row.pk}"
        assert [watch.keys.count(key) for watch in watches] == [
            int(hostname == row.worker) for hostname in hostnames
        ]


@pytest.fixture
def napping_lab(scratch_lab):
    """A lab whose checker sleeps a few seconds before full marks, so that a run is
    surely still going when its engine is stopped."""
    return scratch_lab("nap-3s", NAPPING_CHECKER.format(seconds=3), timeout_s=40)


def test_a_stopped_engine_leaves_the_other_grading_its_work(
    learner, napping_lab, grader_image, two_workers, engine2
):
    files = reference(napping_lab)
    engine1_worker, engine2_worker = two_workers()
    before = submit(learner, napping_lab, files, 6)
    wait_for(
        lambda: Submission.objects.filter(
            status=Submission.Status.RUNNING, worker=engine2_worker
        ).exists(),
        timeout=GRADE_TIMEOUT_S,
    )

    engine2.run("stop")

    rows = graded_all(before)
    hit = [row for row in rows if row.infra_failures]
    assert hit, "no submission met the stopped engine"
    for row in hit:
        assert row.worker == engine1_worker
        assert row.deliveries == row.infra_failures + 1  # every claim failed but the last
    down = wait_for(
        lambda: WorkerHeartbeat.objects.filter(hostname=engine2_worker, engine_ok=False).first(),
        timeout=60,
    )
    assert down.engine_detail.startswith("the Docker engine does not answer")
    # The worker without an engine takes no more grading work: the next submissions
    # are claimed once, by the other worker, although it is the busy one.
    for row in graded_all(submit(learner, napping_lab, files, 3)):
        assert (row.worker, row.deliveries, row.infra_failures) == (engine1_worker, 1, 0)

    # Once its engine answers again it takes work again: with the other worker busy on
    # one submission, it grades some of the rest.
    engine2.run("start")
    wait_for(
        lambda: WorkerHeartbeat.objects.filter(hostname=engine2_worker, engine_ok=True).exists(),
        timeout=60,
    )
    rows = graded_all(submit(learner, napping_lab, files, 3))
    assert engine2_worker in {row.worker for row in rows}


def test_the_work_of_a_dead_host_is_reaped_to_the_host_that_grades(
    learner, napping_lab, grader_image, start_worker, engine2
):
    # Engine 1's worker runs the periodic reaper; engine 2's worker will die mid-run.
    reaping = {"GRADING_HEARTBEAT_S": "1", "GRADING_REAP_INTERVAL_S": "1"}
    start_worker(queues="grading,default", beat=True, DOCKER_HOST=ENGINE1, **reaping)
    engine1_worker = wait_for(lambda: WorkerHeartbeat.objects.first(), timeout=60).hostname
    doomed = start_worker(DOCKER_HOST=engine2.host, GRADING_LEASE_S="3", **reaping)
    engine2_worker = wait_for(
        lambda: WorkerHeartbeat.objects.exclude(hostname=engine1_worker).first(), timeout=60
    ).hostname
    submissions = submit(learner, napping_lab, reference(napping_lab), 4)
    wait_for(
        lambda: Submission.objects.filter(
            status=Submission.Status.RUNNING, worker=engine2_worker
        ).exists(),
        timeout=GRADE_TIMEOUT_S,
    )

    # The whole host goes: its worker killed at once, then its engine.
    doomed.kill()
    engine2.run("stop")

    rows = graded_all(submissions)
    reaped = [row for row in rows if row.requeues]
    assert reaped, "no submission was re-queued by the reaper"
    for row in reaped:
        assert row.worker == engine1_worker
        assert row.deliveries == 2
