"""The abuse batch: every attack in attacks/ submitted as a learner through the real
pipeline and graded by one real Celery worker; what it stored, and the host afterwards.

Grading one submission per test would start a worker and a container per case; instead
``run_batch`` submits every case, waits for all of them, then uploads a normal solution
through the web view, and keeps a snapshot of what was stored. The tests read that
snapshot and look at the Docker engine and the host.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import socket
import time
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from tests.conftest import write_lab
from tests.sandboxes import containers_with_env
from tests.worker_process import Worker, wait_for

HERE = Path(__file__).resolve().parent
ATTACKS = HERE / "attacks"
CASES = sorted(path.stem for path in ATTACKS.glob("*.py"))
RUNTIMES = ("runc", "runsc")
LAB_SLUG = "abuse"
REPORT = "what the sandbox saw"
ANSWER = "answers 3 + 4"
NORMAL_PROGRAM = b"a, b = map(int, input().split())\nprint(a + b)\n"
# Room for the 64 MB of /tmp and of /dev/shm the fill case takes, which count against
# the container's memory, beside the learner's 128 MB and the checker.
LAB_MEMORY_MB = 384
LAB_TIMEOUT_S = 60
BATCH_TIMEOUT_S = 300


@dataclass(frozen=True)
class Graded:
    """What the pipeline stored for one submission, read once the batch finished."""

    pk: str
    status: str
    score: float | None
    max_score: float | None
    feedback: str
    status_detail: str
    timed_out: bool
    oom_killed: bool
    output_truncated: bool
    grader_log: str
    checks: dict[str, str]  # check name -> its output

    def report(self) -> dict:
        """The checker's account of the learner's run (see abuse_lab_checker.py)."""
        return json.loads(self.checks[REPORT])

    def observed(self) -> dict:
        """What the learner's program said it saw: its ``{"observed": ...}`` line."""
        report = self.report()
        printed = "\n".join((report["stdout_head"], report["stdout_tail"], report["stderr_tail"]))
        for line in printed.splitlines():
            if line.startswith('{"observed"'):
                try:
                    return json.loads(line)["observed"]
                except json.JSONDecodeError:
                    continue  # cut off at the edge of the head or the tail
        raise AssertionError(f"the learner printed no observations: {printed[-2000:]}")


@dataclass(frozen=True)
class HostState:
    """The parts of the grading host an attack could touch, fingerprinted."""

    canary: Path
    canary_fingerprint: tuple[str, float]
    worker_tmp: Path
    tcp_listener: socket.socket
    udp_listener: socket.socket
    token: str  # marks files the learner's programs try to leave behind


@dataclass(frozen=True)
class Batch:
    runtime: str
    graded: dict[str, Graded]
    normal: Graded
    host: HostState
    worker_log: str
    secrets: tuple[str, ...]  # the hidden grader secret and the reference solution's marker


def host_addresses() -> list[str]:
    """The grading host's own non-loopback IPv4 addresses."""
    found = set()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # picks the outbound interface; sends nothing
            found.add(probe.getsockname()[0])
        except OSError:
            pass
    for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
        found.add(info[4][0])
    return sorted(address for address in found if not address.startswith("127."))


def fingerprint(path: Path) -> tuple[str, float]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime


def snapshot(submission) -> Graded:
    return Graded(
        pk=str(submission.pk),
        status=submission.status,
        score=submission.score,
        max_score=submission.max_score,
        feedback=submission.feedback,
        status_detail=submission.status_detail,
        timed_out=submission.timed_out,
        oom_killed=submission.oom_killed,
        output_truncated=submission.output_truncated,
        grader_log=submission.grader_log,
        checks={test.name: test.output for test in submission.tests.all()},
    )


def write_abuse_lab(labs: Path, hidden_secret: str, solution_marker: str) -> None:
    path = write_lab(
        labs,
        LAB_SLUG,
        (HERE / "abuse_lab_checker.py").read_text(),
        submit=("main.py", "targets.json"),
    )
    toml = (path / "lab.toml").read_text()
    assert "memory_mb = 128" in toml and "timeout_s = 20" in toml
    toml = toml.replace("memory_mb = 128", f"memory_mb = {LAB_MEMORY_MB}")
    # The sandbox's own deadline is a safety net behind the checker's limits (30 s, and
    # 4 s for the cases about the time limit); under gVisor, with both cores busy,
    # ending a fork bomb alone has taken most of 20 s.
    toml = toml.replace("timeout_s = 20", f"timeout_s = {LAB_TIMEOUT_S}")
    (path / "lab.toml").write_text(toml)
    (path / "grader" / "secret.txt").write_text(hidden_secret)
    (path / "solution" / "main.py").write_text(f"# {solution_marker}\n" + NORMAL_PROGRAM.decode())


def finished(pks):
    from grading.models import Submission

    def check():
        """every submission of the batch to finish"""
        rows = Submission.objects.filter(pk__in=pks)
        return all(row.is_finished() for row in rows) and len(rows) == len(pks)

    return check


def upload_normal_solution(user, lab, targets: bytes):
    from grading.models import Submission

    client = Client()
    client.force_login(user)
    response = client.post(
        reverse("catalog:submission_create", args=[lab.slug]),
        {
            "main.py": SimpleUploadedFile("main.py", NORMAL_PROGRAM),
            "targets.json": SimpleUploadedFile("targets.json", targets),
        },
    )
    assert response.status_code == 302, response.content[:500]
    return Submission.objects.get(pk=response["Location"].rstrip("/").rsplit("/", 1)[1])


def prepare_host(root: Path) -> HostState:
    """A canary file, an empty temporary folder for the worker and two open listeners."""
    token = f"abuse-{secrets.token_hex(8)}"
    canary = root / "canary.txt"
    canary.write_text("the grading host's own file\n")
    worker_tmp = root / "worker-tmp"
    worker_tmp.mkdir()
    tcp_listener = socket.create_server(("0.0.0.0", 0))
    udp_listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp_listener.bind(("0.0.0.0", 0))
    for listener in (tcp_listener, udp_listener):
        listener.setblocking(False)  # the test asks later whether anything arrived
    return HostState(
        canary=canary,
        canary_fingerprint=fingerprint(canary),
        worker_tmp=worker_tmp,
        tcp_listener=tcp_listener,
        udp_listener=udp_listener,
        token=token,
    )


def targets_file(host: HostState) -> bytes:
    """targets.json, submitted beside every main.py: what the attacks aim at."""
    return json.dumps(
        {
            "host_addresses": host_addresses(),
            "tcp_port": host.tcp_listener.getsockname()[1],
            "udp_port": host.udp_listener.getsockname()[1],
            "canary": str(host.canary),
            "token": host.token,
        }
    ).encode()


def run_batch(*, runtime: str, root: Path, labs: Path, host: HostState) -> Batch:
    """Grade every case, then a normal solution, with one worker; needs database access."""
    from django.contrib.auth import get_user_model

    from catalog.models import Lab
    from catalog.sync import labs_sync
    from grading.intake import submission_create
    from grading.models import Submission

    hidden_secret = f"hidden-grader-secret-{secrets.token_hex(8)}"
    solution_marker = f"reference-solution-{secrets.token_hex(8)}"
    write_abuse_lab(labs, hidden_secret, solution_marker)
    report = labs_sync(root=labs)
    assert not report.errors, report.errors
    lab = Lab.objects.get(slug=LAB_SLUG)
    user = get_user_model().objects.create_user(username="mallory", password="x" * 12)
    targets = targets_file(host)
    # Everything is queued before the worker starts: SQLite cannot take new rows while a
    # worker writes results (each side would wait for the other's lock).
    pks = {
        case: submission_create(
            user=user,
            lab=lab,
            files={"main.py": (ATTACKS / f"{case}.py").read_bytes(), "targets.json": targets},
        ).pk
        for case in CASES
    }
    worker = Worker(
        root / "worker.log",
        {"GRADING_RUNTIME": runtime, "TMPDIR": str(host.worker_tmp)},
        concurrency=2,
    )
    try:
        wait_for(finished(list(pks.values())), timeout=BATCH_TIMEOUT_S)
        normal = upload_normal_solution(user, lab, targets)
        wait_for(finished([normal.pk]), timeout=60)
    finally:
        worker.stop()
    return Batch(
        runtime=runtime,
        graded={case: snapshot(Submission.objects.get(pk=pk)) for case, pk in pks.items()},
        normal=snapshot(Submission.objects.get(pk=normal.pk)),
        host=host,
        worker_log=worker.output(),
        secrets=(hidden_secret, solution_marker),
    )


# -- the host afterwards ----------------------------------------------------------------


def sandbox_containers_of(engine: docker.DockerClient, submission_pks: set[str]) -> list[str]:
    """Sandbox containers, running or not, that graded one of these submissions."""
    entries = (f"DOWNSTACK_SUBMISSION_ID={pk}" for pk in submission_pks)
    return [c["Id"] for c in containers_with_env(engine, *entries)]


def host_processes() -> dict[int, tuple[int, str]]:
    """pid -> (real uid, command line) of every process on the host."""
    processes = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            status = Path(f"/proc/{entry}/status").read_text()
            command = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        uid = next(line.split()[1] for line in status.splitlines() if line.startswith("Uid:"))
        processes[int(entry)] = (int(uid), command.decode(errors="replace"))
    return processes


CONTAINER_ID = re.compile(r"\b[0-9a-f]{64}\b")


def orphaned_runtime_processes(engine: docker.DockerClient) -> list[str]:
    """Shims and gVisor processes serving a container the engine no longer has.

    A container being removed right now (by anyone sharing the engine) has such
    processes for a moment, so only those still there a few seconds later count.
    """

    def orphans() -> set[str]:
        found = set()
        for _, command in host_processes().values():
            if "containerd-shim" not in command and "runsc" not in command:
                continue
            for container_id in set(CONTAINER_ID.findall(command)):
                try:
                    engine.api.inspect_container(container_id)
                except docker.errors.NotFound:
                    found.add(f"{container_id[:12]}: {command[:120]}")
        return found

    suspects = orphans()
    if suspects:
        time.sleep(5)
        suspects &= orphans()
    return sorted(suspects)
