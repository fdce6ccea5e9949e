"""Runs one lab checker over one submission in a fresh, locked-down Docker container.

``run()`` is the single entry point. The container gets no network, capped memory
(without swap), CPU, processes, scratch space, open files, file size and output, a
read-only root, almost no capabilities, and a wall-clock deadline enforced from here.
Files go in through the container's stdin as a tar (a read-only root rules out
``put_archive``); the image's entry program unpacks them, runs the checker and answers
with one envelope on stdout. The container is removed in ``finally``, whatever happened.

Anything the checker or the learner's code does is a ``RunResult``; only failures of the
infrastructure (no daemon, missing image, API errors) raise ``InfrastructureError``.
"""

from __future__ import annotations

import io
import json
import logging
import secrets
import selectors
import socket
import tarfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import docker
import docker.errors
import requests
from docker.types import LogConfig, Ulimit

from graders.limits import Limits
from graders.results import (
    MAX_PROGRESS_RECORDS,
    Expected,
    Progress,
    Results,
    ResultsError,
    TestOutcome,
    disagreement,
    parse_progress,
    parse_results,
)

logger = logging.getLogger(__name__)

# Every sandbox container carries this label, so leftovers can be found and removed:
#   docker rm -f $(docker ps -aq --filter label=downstack.sandbox)
LABEL = "downstack.sandbox"
# Which piece of work a container grades (the caller's key), so that a later attempt at
# the same work can remove what an abandoned one left behind.
RUN_LABEL = "downstack.run"
DEFAULT_LIMITS = Limits()
DEFAULT_COMMAND = ("python3", "check.py")

# The entry program needs exactly these to start learner programs as another user:
CAPABILITIES = [
    "SETUID",  # setuid() to the learner uid
    "SETGID",  # setgid()/setgroups([]) to the learner gid, dropping root's groups
    "CHOWN",  # hand the learner its fresh, writable copy of the submission
    "KILL",  # kill the learner's processes, which belong to another uid
]
# gVisor's kernel runs as host threads and stub processes inside the container's pids
# cgroup (about 40 when idle, 90 for a small lab on two cores, more on bigger hosts; a
# learner's fork bomb held at its RLIMIT_NPROC still drives it to about 2,200 on two
# cores, and hitting the limit crashes the whole sandbox), so under it the cgroup limit
# gets this allowance on top. Guest processes are still held by the learner's
# RLIMIT_NPROC, which gVisor enforces, and by the memory limit.
GVISOR_PIDS_ALLOWANCE = 4096
# Scratch space (tmpfs, so it is counted against the memory limit and gone afterwards),
# each with its mount options beyond the size.
SCRATCH_DIRS = {"/tmp": "mode=1777", "/run/grade": "mode=755"}

# Variables the image and its entry program own; a caller's env may not set them.
RESERVED_ENV = frozenset(
    {
        "DOWNSTACK_INPUT_BYTES",
        "DOWNSTACK_RESULT_BYTES",
        "DOWNSTACK_LEARNER_UID",
        "DOWNSTACK_GRADER",
        "DOWNSTACK_SUBMISSION",
        "DOWNSTACK_TIMEOUT_S",
        "PYTHONPATH",
    }
)
# Learner uids are drawn from this range, far from host accounts (see learner_uid()).
LEARNER_UID_BASE = 1_000_000
LEARNER_UID_SPAN = 1_000_000_000
ENVELOPE_MAGIC = b"DOWNSTACK-ENVELOPE"
PROGRESS_MAGIC = b"DOWNSTACK-PROGRESS"
# "DOWNSTACK-PROGRESS <length>\n": the longest header a progress frame can have.
PROGRESS_HEADER_BYTES = len(PROGRESS_MAGIC) + 22
# Docker multiplexes stdout and stderr over the attach socket in frames with an 8-byte
# header: stream type (1 = stdout, 2 = stderr), 3 zero bytes, big-endian payload length.
FRAME_HEADER = 8
STDOUT, STDERR = 1, 2
# The staff log keeps the start and the end of the checker's stderr, decoded with one
# character per undecodable byte, and a line between them saying how much was left out:
# RunResult.log is never longer than LOG_MAX_CHARS characters, whatever was written.
LOG_HEAD_BYTES = 32 * 1024
LOG_TAIL_BYTES = 32 * 1024
LOG_GAP = "\n[... {} bytes left out ...]\n"
LOG_MAX_CHARS = LOG_HEAD_BYTES + LOG_TAIL_BYTES + len(LOG_GAP.format(2**64))
# The exit code of a container whose first process was killed by SIGKILL (128 + 9).
KILLED_EXIT = 137
# How long a killed or finished container may take to report that it stopped.
STOP_WAIT_S = 15


@dataclass(frozen=True)
class Dialect:
    """How the images of one kind run and answer, where they differ from Downstack's own.

    parse: reads the results document the entry program sends (``(text, max_bytes=)``).
    scratch: more tmpfs mounts, path -> mount options beyond the size (e.g. ``exec``).
    capabilities: kept on top of CAPABILITIES.
    grace_s: how long past the time limit the host waits, so that an entry program that
    enforces the limit itself (DOWNSTACK_TIMEOUT_S) can still send what was done by then.
    missing_image: what to do when the image is missing, for the InfrastructureError.
    """

    name: str
    parse: Callable[..., Results]
    scratch: Mapping[str, str] = field(default_factory=dict)
    capabilities: tuple[str, ...] = ()
    grace_s: float = 0.0
    missing_image: str = "build it with `python -m graders.images build`"


NATIVE = Dialect("native", parse_results)


class InfrastructureError(Exception):
    """The run could not happen for reasons outside the submission and the checker.

    The message says what to do; callers retry these, they are never the learner's fault.
    """


@dataclass(frozen=True)
class RunResult:
    """What one grading run produced; the sandbox facts are kept even without a score."""

    results: Results | None
    error: str | None
    exit_code: int | None
    duration_s: float
    peak_memory_bytes: int | None
    timed_out: bool
    oom_killed: bool
    output_truncated: bool
    log: str  # the staff log: head and tail of the checker's stderr, <= LOG_MAX_CHARS
    limits: Limits = DEFAULT_LIMITS  # the limits it ran under, for failure_reason()
    # The checks the checker streamed while it ran, in order (all of them agree with
    # ``results`` when there are results), and the check it said it was running last.
    streamed: tuple[TestOutcome, ...] = ()
    running: str | None = None
    # The checks it declared it would make (Grader.expect), in order.
    expected: tuple[Expected, ...] = ()

    def failure_reason(self) -> str | None:
        """Why there is no score, in words for the learner; None when there is one."""
        if self.results is not None:
            return None
        return self.failure_reason_of_stop()

    def failure_reason_of_stop(self) -> str:
        """Why the run stopped short, in words for the learner, whether or not the
        results written before the stop came back."""
        if self.timed_out:
            return (
                f"Grading stopped after {self.limits.timeout_s:g} s: "
                "your program ran past the time limit."
            )
        if self.oom_killed:
            return f"Your program used more than {self.limits.memory_mb} MB and was stopped."
        if self.output_truncated:
            return (
                f"Grading stopped: more than {_human_bytes(self.limits.output_bytes)} "
                "of output was printed."
            )
        return (
            "The grader could not produce a score for this submission (a grader error, "
            "not a verdict on your code). Staff can see the details."
        )


def run(
    *,
    image: str,
    checker: Mapping[str, bytes],
    submission: Mapping[str, bytes],
    limits: Limits = DEFAULT_LIMITS,
    command: Sequence[str] = DEFAULT_COMMAND,
    env: Mapping[str, str] | None = None,
    runtime: str | None = None,
    run_key: str | None = None,
    client: docker.DockerClient | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    dialect: Dialect = NATIVE,
) -> RunResult:
    """Run ``command`` in the checker directory over the submission, in a fresh container.

    checker: relative path -> bytes of the lab's hidden grader/ directory.
    submission: relative path -> bytes of the learner's files.
    env: extra environment variables for the checker (e.g. DOWNSTACK_SEED).
    runtime: None for the engine's default, or e.g. "runsc" for gVisor.
    run_key: names the work (e.g. "submission-<id>") on the container, for remove_leftovers.
    on_progress: called, in this thread and while the container runs, with each progress
    record the checker streams (a check it made, the check it is running, or one it
    declares), once the record is validated. Keep it quick; what it raises ends the run
    and propagates. Once a record is invalid, no more are passed on and the run is a
    grader error. A streamed check is not final: the results decide, and a run whose
    results withdraw or change a streamed check is a grader error too.
    dialect: how the image runs and answers (NATIVE for Downstack's own images).

    Raises InfrastructureError when Docker is unreachable, the image is missing or the
    API fails, and ValueError for unusable arguments (paths escaping their directory,
    files larger than the scratch space). Safe to run twice: nothing is shared between runs.
    """
    if not command or not all(isinstance(part, str) and part for part in command):
        raise ValueError(f"command must be a non-empty list of words, got {command!r}")
    archive = _archive(checker, submission)
    scratch_bytes = limits.tmpfs_mb * 1024 * 1024
    if len(archive) > scratch_bytes:
        raise ValueError(
            f"checker and submission files take {len(archive)} bytes, more than the "
            f"{limits.tmpfs_mb} MB scratch space (tmpfs_mb)"
        )
    environment = _environment(env, limits, scratch_bytes)
    if dialect.grace_s:  # its entry program stops the run at the limit itself
        environment["DOWNSTACK_TIMEOUT_S"] = f"{limits.timeout_s:g}"
    api = (client or _connect()).api
    with _docker_errors_as_infrastructure():
        _require_image(api, image, dialect)
        pids = limits.pids + (GVISOR_PIDS_ALLOWANCE if _is_gvisor(api, runtime) else 0)
        labels = {LABEL: "1", **({RUN_LABEL: run_key} if run_key else {})}
        container_id = _create(
            api, image, list(command), environment, limits, pids, runtime, labels, dialect
        )
    try:
        with _docker_errors_as_infrastructure():
            return _drive(api, container_id, archive, limits, on_progress, dialect)
    finally:
        _remove(api, container_id)


# -- the container ------------------------------------------------------------------------


def _create(
    api: docker.APIClient,
    image: str,
    command: list[str],
    environment: dict[str, str],
    limits: Limits,
    pids: int,
    runtime: str | None,
    labels: dict[str, str],
    dialect: Dialect,
) -> str:
    size = f"size={limits.tmpfs_mb}m"
    scratch = {**SCRATCH_DIRS, **dialect.scratch}
    host_config = api.create_host_config(
        network_mode="none",
        mem_limit=limits.memory_bytes,
        memswap_limit=limits.memory_bytes,  # equal to the memory limit: no swap
        nano_cpus=int(limits.cpus * 1e9),
        pids_limit=pids,
        read_only=True,
        tmpfs={path: f"{size},{options}" for path, options in scratch.items()},
        shm_size=limits.tmpfs_mb * 1024 * 1024,  # /dev/shm is scratch space too
        cap_drop=["ALL"],
        cap_add=[*CAPABILITIES, *dialect.capabilities],
        security_opt=["no-new-privileges"],
        ulimits=[
            Ulimit(name="nofile", soft=limits.nofile, hard=limits.nofile),
            Ulimit(name="fsize", soft=limits.fsize_mb << 20, hard=limits.fsize_mb << 20),
        ],
        # Output is read live from the attach socket; no copy is kept on the host disk.
        log_config=LogConfig(type=LogConfig.types.NONE),
        runtime=runtime,
    )
    created = api.create_container(
        image,
        command=command,
        # stdin open and not detached: Docker sets StdinOnce, so closing our write side
        # of the attach socket is end-of-file for the entry program.
        stdin_open=True,
        detach=False,
        user="0",  # the entry drops privileges itself; it must start as root
        environment=environment,
        hostname="sandbox",
        labels=labels,
        host_config=host_config,
    )
    return str(created["Id"])


def _drive(
    api: docker.APIClient,
    container_id: str,
    archive: bytes,
    limits: Limits,
    on_progress: Callable[[Progress], None] | None,
    dialect: Dialect,
) -> RunResult:
    attached = api.attach_socket(
        container_id, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
    )
    # For local and plain-TCP engines the SDK returns a SocketIO; the socket is inside.
    sock: socket.socket = getattr(attached, "_sock", attached)
    streams = _Streams(limits.output_bytes, on_progress)
    try:
        started = time.monotonic()
        api.start(container_id)
        deadline = started + limits.timeout_s + dialect.grace_s
        outcome = _exchange(sock, archive, streams, deadline)
        duration = time.monotonic() - started
    finally:
        # shutdown() first: close() alone leaves the connection open while the SDK's
        # file objects still refer to it, and an engine blocked writing into an unread
        # attach connection cannot even kill the container.
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already closed by the engine
        sock.close()
        attached.close()
    timed_out = outcome == "deadline"
    output_truncated = outcome == "overflow"
    if timed_out or output_truncated:
        _kill(api, container_id)
    try:
        api.wait(container_id, timeout=STOP_WAIT_S)
    except requests.exceptions.ReadTimeout as exc:
        raise InfrastructureError(
            f"The Docker engine did not stop container {container_id[:12]} within "
            f"{STOP_WAIT_S} s; check the engine's health (`docker info`)"
        ) from exc
    state = api.inspect_container(container_id)["State"]
    oom_killed = bool(state.get("OOMKilled"))
    container_exit = state.get("ExitCode")
    log = streams.log_text()

    envelope, envelope_problem = _read_envelope(bytes(streams.stdout))
    # The entry program stopped the run at the time limit itself and sent what was done.
    stopped_inside = bool(envelope and envelope.get("deadline_reached"))
    if envelope is None and container_exit == KILLED_EXIT and not (timed_out or output_truncated):
        # Nothing here killed it, and inside the container nothing can kill PID 1: the
        # host's OOM killer ended the whole container at its memory limit. Under gVisor
        # that takes the sandbox's own kernel with it, and Docker does not always say so.
        oom_killed = True
    exit_code = envelope.get("checker_exit", container_exit) if envelope else container_exit
    peak = envelope.get("peak_memory_bytes") if envelope else None
    results: Results | None = None
    error: str | None = None
    if output_truncated:
        error = f"the run wrote more than {limits.output_bytes} bytes of output and was stopped"
    elif timed_out:
        pass
    elif streams.progress_problem:
        error = f"grader error: {streams.progress_problem}"
    elif envelope is None:
        if not oom_killed:
            error = (
                f"the grader image's entry program ended without a result "
                f"(exit code {container_exit}): {envelope_problem}; see the log"
            )
    elif "error" in envelope:
        error = f"grader error: {envelope['error']}"
    else:
        text = envelope.get("results")
        if not isinstance(text, str):
            if not stopped_inside:  # stopped before writing any: the time-out is the reason
                problem = envelope.get("problem") or "the result envelope has no results text"
                error = f"grader error: {problem}"
        else:
            try:
                results = dialect.parse(text, max_bytes=limits.result_bytes)
            except ResultsError as exc:
                # A checker killed mid-write: the OOM or the time-out is the reason.
                if not (oom_killed or stopped_inside):
                    error = _checker_problem(exc, exit_code)
            withdrawn = (
                disagreement(tuple(streams.streamed), results, tuple(streams.expected))
                if results
                else None
            )
            if withdrawn:
                results, error = None, f"grader error: {withdrawn}"
    return RunResult(
        results=results,
        error=error,
        exit_code=exit_code if isinstance(exit_code, int) else None,
        duration_s=round(duration, 3),
        peak_memory_bytes=peak if isinstance(peak, int) else None,
        timed_out=timed_out or stopped_inside,
        oom_killed=oom_killed,
        output_truncated=output_truncated,
        log=log,
        limits=limits,
        streamed=tuple(streams.streamed),
        running=streams.running,
        expected=tuple(streams.expected),
    )


def _checker_problem(exc: ResultsError, exit_code: object) -> str:
    if isinstance(exit_code, int) and exit_code != 0:
        return f"the checker exited with status {exit_code} and gave no valid results: {exc}"
    return f"invalid results from the checker: {exc}"


def _exchange(sock: socket.socket, archive: bytes, streams: _Streams, deadline: float) -> str:
    """Send the archive and read the output until end of stream, the deadline or the cap.

    Returns "eof", "deadline" or "overflow". Sending and reading share one loop so a
    container that talks before it has read all its input cannot deadlock us.
    """
    pending = memoryview(archive)
    sock.setblocking(False)
    with selectors.DefaultSelector() as selector:
        selector.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return "deadline"
            for _, events in selector.select(remaining):
                if events & selectors.EVENT_WRITE and pending:
                    try:
                        pending = pending[sock.send(pending[: 1 << 16]) :]
                    except BlockingIOError:
                        continue
                    except (BrokenPipeError, ConnectionResetError):
                        # It stopped reading; what it wrote back will say why.
                        pending = pending[len(pending) :]
                    if not pending:
                        sock.shutdown(socket.SHUT_WR)
                        selector.modify(sock, selectors.EVENT_READ)
                if events & selectors.EVENT_READ:
                    try:
                        chunk = sock.recv(1 << 16)
                    except BlockingIOError:
                        continue
                    except ConnectionResetError:
                        return "eof"
                    if not chunk:
                        return "eof"
                    if not streams.feed(chunk):
                        return "overflow"


class _Streams:
    """Splits Docker's multiplexed attach stream into progress records (passed on as they
    arrive), the envelope and a capped log."""

    def __init__(self, cap: int, on_progress: Callable[[Progress], None] | None) -> None:
        self.cap = cap
        self.on_progress = on_progress
        self.streamed: list[TestOutcome] = []
        self.expected: list[Expected] = []
        self.records = 0
        self.running: str | None = None
        self.progress_problem = ""
        self.total = 0
        self.pending = bytearray()
        self.stdout = bytearray()
        self.log_head = bytearray()
        self.log_tail = bytearray()
        self.log_dropped = 0

    def feed(self, chunk: bytes) -> bool:
        """Take more bytes; False once the payload passes the cap."""
        self.pending += chunk
        while len(self.pending) >= FRAME_HEADER:
            kind = self.pending[0]
            size = int.from_bytes(self.pending[4:FRAME_HEADER], "big")
            if self.total + size > self.cap:
                return False
            if len(self.pending) < FRAME_HEADER + size:
                break
            payload = bytes(self.pending[FRAME_HEADER : FRAME_HEADER + size])
            del self.pending[: FRAME_HEADER + size]
            self.total += size
            if kind == STDOUT:
                self.stdout += payload
                self._take_progress()
            elif kind == STDERR:
                self._log(payload)
        return True

    def _take_progress(self) -> None:
        """Take the whole progress frames off the front of stdout; the envelope stays."""
        while not self.progress_problem and self.stdout.startswith(PROGRESS_MAGIC + b" "):
            header, newline, _ = bytes(self.stdout[:PROGRESS_HEADER_BYTES]).partition(b"\n")
            size = header[len(PROGRESS_MAGIC) + 1 :]
            if not newline or not size.isdigit():
                if newline or len(header) >= PROGRESS_HEADER_BYTES:
                    self.progress_problem = "a progress frame from the entry program is malformed"
                return
            end = len(header) + 1 + int(size)
            if len(self.stdout) < end:
                return
            record = bytes(self.stdout[len(header) + 1 : end])
            del self.stdout[:end]
            self.records += 1
            if self.records > MAX_PROGRESS_RECORDS:
                self.progress_problem = (
                    f"the checker streamed more than {MAX_PROGRESS_RECORDS} progress records"
                )
                return
            try:
                progress = parse_progress(record, index=self.records)
            except ResultsError as exc:
                self.progress_problem = f"invalid progress from the checker: {exc}"
                return
            if progress.check is not None:
                self.streamed.append(progress.check)
            elif progress.expected is not None:
                self.expected.append(progress.expected)
            else:
                self.running = progress.running
            if self.on_progress is not None:
                self.on_progress(progress)

    def _log(self, payload: bytes) -> None:
        room = LOG_HEAD_BYTES - len(self.log_head)
        self.log_head += payload[:room]
        self.log_tail += payload[room:] if room > 0 else payload
        if len(self.log_tail) > 2 * LOG_TAIL_BYTES:  # trim in batches, not per frame
            self._trim_tail()

    def _trim_tail(self) -> None:
        excess = len(self.log_tail) - LOG_TAIL_BYTES
        if excess > 0:
            self.log_dropped += excess
            del self.log_tail[:excess]

    def log_text(self) -> str:
        """The staff log: at most LOG_MAX_CHARS characters, and no NUL (PostgreSQL's
        text type refuses it), whatever the checker wrote."""
        self._trim_tail()
        gap = LOG_GAP.format(self.log_dropped) if self.log_dropped else ""
        text = (
            self.log_head.decode("utf-8", "replace")
            + gap
            + self.log_tail.decode("utf-8", "replace")
        )
        return text.replace("\0", "\ufffd")


def envelope_of(stdout: bytes) -> tuple[dict[str, Any] | None, str]:
    """The envelope in an entry program's whole stdout, past its progress frames, as a
    bare `docker run` of a grader image prints it; returns (envelope, problem if None)."""
    streams = _Streams(len(stdout) + 1, None)
    streams.stdout += stdout
    streams._take_progress()
    if streams.progress_problem:
        return None, streams.progress_problem
    return _read_envelope(bytes(streams.stdout))


def _read_envelope(stdout: bytes) -> tuple[dict[str, Any] | None, str]:
    """Parse ``DOWNSTACK-ENVELOPE <n>\\n<json>``; returns (envelope, problem if None)."""
    if not stdout:
        return None, "it wrote nothing to stdout"
    header, newline, body = stdout.partition(b"\n")
    words = header.split()
    if not newline or len(words) != 2 or words[0] != ENVELOPE_MAGIC or not words[1].isdigit():
        return None, "its stdout does not start with a result envelope"
    if len(body) != int(words[1]):
        return None, f"the result envelope is cut short ({len(body)} of {int(words[1])} bytes)"
    try:
        envelope = json.loads(body)
    except json.JSONDecodeError as exc:
        return None, f"the result envelope is not JSON ({exc})"
    if not isinstance(envelope, dict):
        return None, "the result envelope is not a JSON object"
    return envelope, ""


def _kill(api: docker.APIClient, container_id: str) -> None:
    try:
        api.kill(container_id)
    except docker.errors.APIError as exc:
        # 409: it stopped by itself between the deadline and the kill.
        if exc.status_code != 409:
            raise


def _remove(api: docker.APIClient, container_id: str) -> None:
    try:
        api.remove_container(container_id, force=True)
    except docker.errors.NotFound:
        pass
    except (docker.errors.APIError, requests.exceptions.RequestException):
        # Raising here would hide the run's own outcome or exception; the label lets an
        # operator find the leftover.
        logger.exception("could not remove sandbox container %s", container_id[:12])


def remove_leftovers(
    *,
    run_key: str | None = None,
    older_than_s: float | None = None,
    client: docker.DockerClient | None = None,
) -> int:
    """Remove the sandbox containers that abandoned runs left on this engine; return how
    many. ``run()`` removes its container in ``finally``, which a killed worker never
    reaches. Removed: the containers labelled with ``run_key`` (a new attempt at the same
    work) and those created more than ``older_than_s`` ago (past every deadline, so no
    live run owns them). Raises InfrastructureError when Docker is unreachable."""
    cutoff = time.time() - older_than_s if older_than_s is not None else None
    api = (client or _connect()).api
    with _docker_errors_as_infrastructure():
        found = api.containers(all=True, filters={"label": LABEL})
    removed = 0
    for container in found:
        mine = run_key is not None and (container.get("Labels") or {}).get(RUN_LABEL) == run_key
        stale = cutoff is not None and container.get("Created", cutoff) < cutoff
        if mine or stale:
            logger.warning(
                "removing sandbox container %s of an abandoned run", container["Id"][:12]
            )
            _remove(api, container["Id"])
            removed += 1
    return removed


# -- inputs and the engine ---------------------------------------------------------------------


def _archive(checker: Mapping[str, bytes], submission: Mapping[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for top, files in (("grader", checker), ("submission", submission)):
            for name, data in sorted(files.items()):
                info = tarfile.TarInfo(f"{top}/{_safe_relative(name, top)}")
                info.size = len(data)
                info.mode = 0o644
                tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _safe_relative(name: str, top: str) -> str:
    path = PurePosixPath(name)
    if not name or "\0" in name or "\\" in name or path.is_absolute() or ".." in path.parts:
        raise ValueError(f"{top} file name {name!r} must be a relative path inside {top}/")
    clean = path.as_posix()
    if clean in ("", "."):
        raise ValueError(f"{top} file name {name!r} names no file")
    return clean


def _environment(env: Mapping[str, str] | None, limits: Limits, scratch: int) -> dict[str, str]:
    environment: dict[str, str] = {}
    for key, value in (env or {}).items():
        if not key or "=" in key or "\0" in key or "\0" in value:
            raise ValueError(f"environment variable name {key!r} or its value is not usable")
        if key in RESERVED_ENV:
            # e.g. DOWNSTACK_LEARNER_UID=0 would run the learner's code as root.
            raise ValueError(f"environment variable {key} is set by the sandbox itself")
        environment[key] = value
    environment["DOWNSTACK_INPUT_BYTES"] = str(scratch)
    environment["DOWNSTACK_RESULT_BYTES"] = str(limits.result_bytes)
    environment["DOWNSTACK_LEARNER_UID"] = str(learner_uid())
    return environment


def learner_uid() -> int:
    """A fresh uid for each run's learner code.

    Without user namespaces the kernel counts RLIMIT_NPROC per uid across the whole
    host, so a shared learner uid would let a fork bomb in one container starve the
    learner's program in another grading running beside it. A random uid far above any
    host account keeps concurrent runs apart.
    """
    return LEARNER_UID_BASE + secrets.randbelow(LEARNER_UID_SPAN)


def engine_problem(*, timeout_s: float = 5) -> str | None:
    """Why the Docker engine this process reaches (DOCKER_HOST) does not answer, in one
    line; None when it answers. Safe to run twice: it only pings."""
    try:
        client = docker.from_env(timeout=max(1, round(timeout_s)))
        try:
            client.ping()
        finally:
            client.close()
    except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
        return f"the Docker engine does not answer: {exc}"[:500]
    return None


def _connect() -> docker.DockerClient:
    try:
        return docker.from_env()
    except docker.errors.DockerException as exc:
        raise InfrastructureError(
            f"Docker is not running: start it with `sudo scripts/host-setup.sh` ({exc})"
        ) from exc


def _is_gvisor(api: docker.APIClient, runtime: str | None) -> bool:
    """Whether ``runtime`` is gVisor; InfrastructureError if the engine does not know it."""
    if runtime is None:
        return False
    registered = api.info().get("Runtimes") or {}
    if runtime not in registered:
        raise InfrastructureError(
            f"The container runtime {runtime!r} is not registered with Docker "
            f"(known: {', '.join(sorted(registered))}): run `sudo scripts/host-setup.sh` "
            "or choose the default runtime"
        )
    path = str(registered[runtime].get("path", ""))
    return "runsc" in (runtime, path.rsplit("/", 1)[-1])


def _require_image(api: docker.APIClient, image: str, dialect: Dialect) -> None:
    try:
        api.inspect_image(image)
    except docker.errors.ImageNotFound as exc:
        raise InfrastructureError(
            f"Grader image {image} is missing: {dialect.missing_image}"
        ) from exc


@contextmanager
def _docker_errors_as_infrastructure() -> Iterator[None]:
    """Turn engine and transport failures into InfrastructureError with advice."""
    try:
        yield
    except requests.exceptions.ConnectionError as exc:
        raise InfrastructureError(
            "Docker is not running: start it with `sudo scripts/host-setup.sh`"
        ) from exc
    except docker.errors.APIError as exc:
        raise InfrastructureError(
            f"The Docker engine refused a sandbox request: {exc.explanation or exc}"
        ) from exc
    except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
        raise InfrastructureError(f"The Docker engine failed during a sandbox run: {exc}") from exc
    except OSError as exc:  # the attach socket broke under us
        raise InfrastructureError(f"Lost the connection to the Docker engine: {exc}") from exc


def _human_bytes(size: int) -> str:
    if size >= 1 << 20 and size % (1 << 20) == 0:
        return f"{size >> 20} MB"
    if size >= 1 << 10 and size % (1 << 10) == 0:
        return f"{size >> 10} KB"
    return f"{size} bytes"
