"""The library lab checkers use inside a grader container: ``from downstack_harness import Grader``.

A checker drives the learner's program from outside and reports what it saw::

    from downstack_harness import Grader

    g = Grader()
    run = g.run_learner(["python3", "main.py"], input=b"3 4\\n", timeout_s=5)
    g.check("adds two numbers", run.stdout.strip() == b"7", output=run.stderr.decode()[-500:])
    g.emit()

``run_learner`` starts the program as the unprivileged learner uid, in a fresh copy of
the submission, in its own session, with resource limits and a clean environment, and
makes sure nothing it started outlives the call. ``emit`` prints the results document
(the only thing a checker should print to stdout; diagnostics go to stderr).

Outside a container (a lab author's machine, unit tests) the learner uid is unset and
programs run as the current user, without the uid switch.

Standard library only: this file is copied into grader images as it is.
"""

from __future__ import annotations

import json
import math
import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")

# Per-stream cap on what a learner program may print; beyond it the program is stopped.
LEARNER_OUTPUT_BYTES = 1 << 20
# RLIMIT_NPROC counts every process of the uid, so this leaves the checker room to work
# (and to clean up) even when the learner's program is a fork bomb.
LEARNER_PROCESSES = 64
LEARNER_OPEN_FILES = 128
LEARNER_FILE_BYTES = 16 << 20
# Directories every user may write to; learner files left there are removed after a run
# so that one run cannot pass anything to the next.
SHARED_SCRATCH = ("/tmp", "/dev/shm")
# The learner gets a minimal, predictable environment: nothing of the checker's leaks.
LEARNER_PATH = "/usr/local/bin:/usr/bin:/bin"
# Markers an out-of-memory failure leaves in stderr (Python, C++, C library messages).
MEMORY_MARKERS = (b"MemoryError", b"std::bad_alloc", b"Cannot allocate memory", b"out of memory")
# Where the kernel counts this container's OOM kills (cgroup v2, then v1); gVisor has none.
OOM_COUNTERS = ("/sys/fs/cgroup/memory.events", "/sys/fs/cgroup/memory/memory.oom_control")
# Upper bound on kill(-1) rounds when ending the learner's processes.
SWEEP_ROUNDS = 50
# How long to wait for output pipes to close once the program and its group are dead.
PIPE_DRAIN_S = 2.0


@dataclass(frozen=True)
class LearnerRun:
    """What one run of the learner's program did."""

    returncode: int | None  # negative: killed by that signal
    stdout: bytes
    stderr: bytes
    timed_out: bool
    memory_exceeded: bool
    duration_s: float
    output_truncated: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not (self.timed_out or self.memory_exceeded)


@dataclass(frozen=True)
class _Check:
    name: str
    score: float
    max_score: float
    passed: bool
    output: str
    visibility: str
    tags: tuple[str, ...]

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "score": self.score,
            "max_score": self.max_score,
            "status": "passed" if self.passed else "failed",
            "output": self.output,
            "visibility": self.visibility,
            "tags": list(self.tags),
        }


class _CappedPipe(threading.Thread):
    """Collects one output pipe up to a cap; past the cap, signals and stops reading."""

    def __init__(self, pipe: int, cap: int, overflow: threading.Event) -> None:
        super().__init__(daemon=True)
        self.pipe = pipe
        self.cap = cap
        self.overflow = overflow
        self.data = bytearray()

    def run(self) -> None:
        while True:
            try:
                chunk = os.read(self.pipe, 1 << 16)
            except OSError:
                return
            if not chunk:
                return
            room = self.cap - len(self.data)
            self.data += chunk[:room]
            if len(chunk) > room:
                self.overflow.set()
                return


def _feed(stream: IO[bytes], data: bytes) -> None:
    try:
        stream.write(data)
        stream.close()
    except OSError:
        pass  # it stopped reading its input: its own problem, visible in its output


class Grader:
    """Collects checks and runs the learner's program; one per checker process."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self.submission_dir = Path(env.get("DOWNSTACK_SUBMISSION", "submission")).resolve()
        uid = env.get("DOWNSTACK_LEARNER_UID")
        self.learner_uid: int | None = int(uid) if uid else None
        if self.learner_uid == 0:
            raise RuntimeError(
                "DOWNSTACK_LEARNER_UID is 0: the learner's code must not run as root"
            )
        if self.learner_uid is not None and os.getuid() != 0:
            # Without root the uid switch cannot happen; running as ourselves would
            # silently give the learner's program the checker's rights.
            raise RuntimeError("DOWNSTACK_LEARNER_UID is set but the checker is not root")
        self.output = ""
        self._tests: list[_Check] = []

    # -- running the learner's program -------------------------------------------------

    def run_learner(
        self,
        command: Sequence[str],
        *,
        input: bytes | None = None,
        timeout_s: float = 5.0,
        memory_mb: int = 256,
        extra_env: Mapping[str, str] | None = None,
    ) -> LearnerRun:
        """Run the learner's program in a fresh copy of the submission and wait for it.

        Every process it started is gone when this returns, and its working copy and
        any files it left in shared scratch directories are removed.
        """
        workdir = self._fresh_copy()
        env = {
            "PATH": LEARNER_PATH,
            "HOME": str(workdir),
            "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONUNBUFFERED": "1",
        }
        env.update(extra_env or {})
        limits = _learner_limits(timeout_s, memory_mb)
        uid = self.learner_uid
        overflow = threading.Event()
        oom_kills_before = _oom_kills()
        started = time.monotonic()
        try:
            process = subprocess.Popen(
                list(command),
                cwd=workdir,
                env=env,
                stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                close_fds=True,
                # Its own session and process group: the whole group can be killed, and
                # it has no controlling terminal to reach the checker through.
                start_new_session=True,
                user=uid,
                group=uid,
                extra_groups=[] if uid is not None else None,
                umask=0o022,  # files it writes stay readable by the checker
                preexec_fn=lambda: _apply_limits(limits),
            )
        except OSError as exc:
            self._clean_up(workdir, None)
            return LearnerRun(None, b"", str(exc).encode(), False, False, 0.0)
        assert process.stdout is not None and process.stderr is not None
        readers = [
            _CappedPipe(process.stdout.fileno(), LEARNER_OUTPUT_BYTES, overflow),
            _CappedPipe(process.stderr.fileno(), LEARNER_OUTPUT_BYTES, overflow),
        ]
        for reader in readers:
            reader.start()
        if process.stdin is not None:
            threading.Thread(target=_feed, args=(process.stdin, input or b""), daemon=True).start()

        timed_out = False
        deadline = started + timeout_s
        while process.poll() is None:
            if overflow.is_set():
                _kill_group(process.pid)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                _kill_group(process.pid)
                process.wait()
                break
            try:
                process.wait(timeout=min(remaining, 0.05))
            except subprocess.TimeoutExpired:
                continue
        duration = time.monotonic() - started
        self._clean_up(workdir, process.pid)
        for reader in readers:
            reader.join(PIPE_DRAIN_S)
        process.stdout.close()
        process.stderr.close()

        stdout, stderr = bytes(readers[0].data), bytes(readers[1].data)
        code = process.returncode
        if code == -signal.SIGXCPU:
            timed_out = True  # it used up its CPU-time allowance
        # The container's OOM killer may have ended only some of its processes (children
        # that held the memory) while the program itself went on to exit normally.
        oom_kills_after = _oom_kills()
        oom_killed = (
            oom_kills_before is not None
            and oom_kills_after is not None
            and oom_kills_after > oom_kills_before
        )
        memory_exceeded = not timed_out and (
            oom_killed
            or any(marker in stderr for marker in MEMORY_MARKERS)
            or (code in (-signal.SIGKILL, -signal.SIGSEGV) and not overflow.is_set())
        )
        return LearnerRun(
            returncode=code,
            stdout=stdout,
            stderr=stderr,
            timed_out=timed_out,
            memory_exceeded=memory_exceeded,
            duration_s=duration,
            output_truncated=overflow.is_set(),
        )

    def _fresh_copy(self) -> Path:
        workdir = Path(tempfile.mkdtemp(prefix="learner-"))
        if self.submission_dir.is_dir():
            shutil.copytree(self.submission_dir, workdir, dirs_exist_ok=True, symlinks=False)
        # copytree copied the submission folder's mode; the checker must still be able to
        # enter the copy once the learner owns it (it has no DAC override capability).
        workdir.chmod(0o755)
        if self.learner_uid is not None:
            # Deepest first: a folder handed over early could lock the checker out of
            # the files below it.
            for path in reversed([workdir, *workdir.rglob("*")]):
                os.chown(path, self.learner_uid, self.learner_uid, follow_symlinks=False)
        return workdir

    def _clean_up(self, workdir: Path, pgid: int | None) -> None:
        if pgid is not None:
            _kill_group(pgid)
        if self.learner_uid is None:
            shutil.rmtree(workdir, ignore_errors=True)
            return
        # As the learner uid, in a child: kill(-1) then reaches exactly the processes that
        # uid owns (including any that left the process group with setsid), and removing
        # its files needs no extra capability for the checker.
        child = os.fork()
        if child == 0:
            code = 1
            try:
                os.setgroups([])
                os.setgid(self.learner_uid)
                os.setuid(self.learner_uid)
                if os.getuid() != 0:  # never kill(-1) with root's reach
                    _sweep_learner(workdir, self.learner_uid)
                    code = 0
            finally:
                os._exit(code)
        os.waitpid(child, 0)

    # -- reporting ------------------------------------------------------------------------

    def check(
        self,
        name: str,
        passed: bool,
        *,
        score: float | None = None,
        max_score: float = 1.0,
        output: str = "",
        visibility: str = "visible",
        tags: Sequence[str] = (),
    ) -> bool:
        """Record one test; returns ``passed`` so checks can gate later ones."""
        if visibility not in VISIBILITIES:
            raise ValueError(f"visibility must be one of {VISIBILITIES}, got {visibility!r}")
        if isinstance(tags, str):
            raise ValueError("tags must be a sequence of strings, not one string")
        if score is None:
            score = max_score if passed else 0.0
        if not (math.isfinite(score) and math.isfinite(max_score)) or not 0 <= score <= max_score:
            raise ValueError(f"check {name!r}: score {score} must be within 0..{max_score}")
        self._tests.append(
            _Check(name, float(score), float(max_score), passed, output, visibility, tuple(tags))
        )
        return passed

    def results(self) -> dict[str, object]:
        """The results document as a dict (what ``emit`` prints)."""
        document: dict[str, object] = {
            "score": sum(test.score for test in self._tests),
            "max_score": sum(test.max_score for test in self._tests),
            "tests": [test.as_json() for test in self._tests],
        }
        if self.output:
            document["output"] = self.output
        return document

    def emit(self) -> None:
        """Print the results document to stdout; call once, at the end."""
        sys.stdout.write(json.dumps(self.results()))
        sys.stdout.flush()

    def submission_file(self, name: str) -> bytes | None:
        """The bytes of a submitted file, read as the checker; None if it was not submitted."""
        path = (self.submission_dir / name).resolve()
        if not path.is_relative_to(self.submission_dir):
            raise ValueError(f"{name!r} is outside the submission")
        try:
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None


def _learner_limits(timeout_s: float, memory_mb: int) -> list[tuple[int, int]]:
    cpu = math.ceil(timeout_s) + 1
    return [
        (resource.RLIMIT_AS, memory_mb << 20),
        (resource.RLIMIT_CPU, cpu),
        (resource.RLIMIT_NPROC, LEARNER_PROCESSES),
        (resource.RLIMIT_FSIZE, LEARNER_FILE_BYTES),
        (resource.RLIMIT_NOFILE, LEARNER_OPEN_FILES),
        (resource.RLIMIT_CORE, 0),
    ]


def _apply_limits(limits: list[tuple[int, int]]) -> None:
    # Runs in the child between fork and exec. Limits only go down: a hard limit the
    # container already set is never exceeded. The CPU hard limit sits one second above
    # the soft one so the program first gets SIGXCPU, which reads as "ran out of time".
    for which, value in limits:
        _, ceiling = resource.getrlimit(which)
        hard = value + 1 if which == resource.RLIMIT_CPU else value
        if ceiling != resource.RLIM_INFINITY:
            value, hard = min(value, ceiling), min(hard, ceiling)
        resource.setrlimit(which, (value, hard))


def _oom_kills() -> int | None:
    """How many processes the kernel's OOM killer has ended in this container so far;
    None where no counter can be read."""
    for path in OOM_COUNTERS:
        try:
            text = Path(path).read_text()
        except OSError:
            continue
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill" and value.strip().isdigit():
                return int(value)
    return None


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass  # already gone


def _sweep_learner(workdir: Path, uid: int) -> None:
    """Runs as the learner uid: end all its processes, then remove all its files."""
    # kill(-1) reaches every process this uid may signal; repeat until none is left, as
    # a fork bomb can create new ones while the first sweep runs.
    for _ in range(SWEEP_ROUNDS):
        try:
            os.kill(-1, signal.SIGKILL)
        except ProcessLookupError:
            break
        time.sleep(0.01)
    shutil.rmtree(workdir, ignore_errors=True)
    for directory in SHARED_SCRATCH:
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.stat(follow_symlinks=False).st_uid != uid:
                    continue
                if stat.S_ISDIR(entry.stat(follow_symlinks=False).st_mode):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.unlink(entry.path)
            except OSError:
                continue
