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

Whatever the learner's program does with its output is a fact of the ``LearnerRun``,
never a failure of the checker. It gets pipes of its own (stdin from ``input`` or
/dev/null), never the checker's descriptors; it may write binary, never end a line,
close its streams or leave a child holding them after it exits. Each stream is read
up to ``LEARNER_OUTPUT_BYTES`` (1 MiB) in one thread of the checker: ``stdout`` keeps
all of that, ``stderr`` keeps its first ``LEARNER_STDERR_HEAD_BYTES`` and last
``LEARNER_STDERR_TAIL_BYTES`` (32 KiB each) with a ``[... N bytes left out ...]`` line
between. A program that writes more is stopped at once (``output_truncated``,
``flooded_streams``; ``output_note`` says so in words for the learner), so a flood of
any size costs the checker one megabyte per stream and no more time than that takes.

``check`` takes any text as ``output``: NUL characters and unpaired surrogates become
U+FFFD, and an output longer than ``CHECK_OUTPUT_BYTES`` (64 KiB, the results
contract's limit) keeps its start and end. When the document would still pass the
run's result limit, ``emit`` shortens every output to the same smaller size until it
fits, so quoting a learner's output can cost detail but never the checker's results.

A learner program that must live longer than one call (a service answering requests,
the nodes of a cluster) is started with ``start_learner``, which returns a
``LearnerProcess`` to talk to over its pipes::

    nodes = [g.start_learner(["python3", "node.py"], isolated=True) for _ in range(3)]
    try:
        for node in nodes:
            node.send_line('{"type": "init"}')
            reply = node.read_line(time.monotonic() + 3)  # raises LearnerProcessError
        print(nodes[0].rss_kib(), nodes[0].cpu_time_s())  # read from /proc, not from it
        nodes[1].pause()  # SIGSTOP to all it runs; resume() sends SIGCONT
    finally:
        for node in nodes:
            node.close()  # ends it and everything it started, removes its files

Every ``start_learner`` process runs under a fresh uid of its own, so processes of one
run cannot signal or trace one another, and ``close`` ends exactly what that process
started and nothing else. ``isolated=True`` also leaves a process no channel but its
pipes: it runs from a read-only copy and may not create sockets (no TCP, UDP or unix
sockets, loopback included), files, folders, links or System V / POSIX IPC objects
(a seccomp filter the harness installs before the program starts). Both calls share one
set of limits, one clean environment and one clean-up sweep.

Outside a container (a lab author's machine, unit tests) the learner uid is unset and
programs run as the current user, without the uid switch.

The names without a leading underscore are the public API; labs use nothing else.

Standard library only: this file is copied into grader images as it is.
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import json
import math
import os
import platform
import resource
import select
import selectors
import shutil
import signal
import stat
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")

# What one run_learner call reads of each of the program's output streams. Past it the
# program is stopped (a flood is cut there, never read to its end) and the run says so.
LEARNER_OUTPUT_BYTES = 1 << 20
# Of those, all of stdout is kept (it is the program's answer); of stderr only its start
# and its end, which is where a traceback is, with a line saying how much was left out.
LEARNER_STDERR_HEAD_BYTES = 32 << 10
LEARNER_STDERR_TAIL_BYTES = 32 << 10
# RLIMIT_NPROC counts every process of the uid, so this leaves the checker room to work
# (and to clean up) even when the learner's program is a fork bomb.
LEARNER_PROCESSES = 64
LEARNER_OPEN_FILES = 128
LEARNER_FILE_BYTES = 16 << 20
# Directories every user may write to; learner files left there are removed after a run
# so that one run cannot pass anything to the next. /dev/mqueue holds POSIX message
# queues, which any user may create and which outlive their creator.
SHARED_SCRATCH = ("/tmp", "/dev/shm", "/dev/mqueue")
# System V IPC objects outlive their creator too: for each kind, its table under
# /proc/sysvipc, the column of its id, and how it is removed (the *ctl call with
# IPC_RMID, 0).
SYSV_IPC = (("shm", "shmid", "shmctl"), ("sem", "semid", "semctl"), ("msg", "msqid", "msgctl"))
# The learner gets a minimal, predictable environment: nothing of the checker's leaks.
LEARNER_PATH = "/usr/local/bin:/usr/bin:/bin"
# Markers an out-of-memory failure leaves in stderr (Python, C++, C library messages).
MEMORY_MARKERS = (b"MemoryError", b"std::bad_alloc", b"Cannot allocate memory", b"out of memory")
# Where the kernel counts this container's OOM kills (cgroup v2, then v1); gVisor has none.
OOM_COUNTERS = ("/sys/fs/cgroup/memory.events", "/sys/fs/cgroup/memory/memory.oom_control")
# An upper bound on the time taken to end the learner's processes and see them reaped.
# A safety net only: stopping everything first makes the kill(-1) rounds converge, on a
# loaded machine within a second or two.
SWEEP_SECONDS = 15.0
# The exit status of the sweep's child when processes of the learner outlived it.
SWEEP_INCOMPLETE = 3
# Process states in /proc: stopped (by a signal or a tracer), and ended but not reaped.
GONE = frozenset({"Z", "X"})
STOPPED_OR_GONE = GONE | {"T", "t"}
# How long to wait for output pipes to close once the program and its group are dead
# (outside a container a process that left the group can keep them open).
PIPE_DRAIN_S = 2.0
# A long-lived process: the longest line read_line accepts, and how much of its stderr
# is kept for messages (the rest is drained and dropped so it can never block on it).
MAX_LINE_BYTES = 1 << 20
STDERR_TAIL_BYTES = 8192
# How long send_line waits for a process that does not read its input.
SEND_TIMEOUT_S = 10.0
# The results contract's limit on one output text (MAX_OUTPUT_BYTES in graders/results.py,
# which this standalone file cannot import; a test keeps the two equal). Longer outputs
# are shortened here, so that quoting a learner's output cannot void the checker's results.
CHECK_OUTPUT_BYTES = 64 << 10
# emit() shortens outputs further, down to this, when the whole document would otherwise
# pass the run's result size limit (DOWNSTACK_RESULT_BYTES, set by the sandbox).
SHORTEST_FITTED_OUTPUT_BYTES = 512
# Each check is also streamed to the host the moment it is made (DOWNSTACK_PROGRESS_FD,
# a pipe of the entry program's that learner programs never get), so that learners see
# checks as they finish. A streamed record carries at most this much of the output (the
# final document has all of it) and is at most PROGRESS_RECORD_BYTES long
# (MAX_PROGRESS_RECORD_BYTES in graders/results.py; a test keeps the two equal).
PROGRESS_OUTPUT_BYTES = 2 << 10
PROGRESS_RECORD_BYTES = 16 << 10
# The results contract's limit on a check's name (MAX_NAME_CHARS there).
MAX_CHECK_NAME_CHARS = 200
# A run started when its check's budget is all but spent still gets this long.
MIN_TIMEOUT_S = 0.05
READ_CHUNK = 1 << 16


@dataclass(frozen=True)
class LearnerRun:
    """What one run of the learner's program did.

    ``stdout`` is all it wrote there, up to ``LEARNER_OUTPUT_BYTES``; ``stderr`` is its
    start and its end, with a ``[... N bytes left out ...]`` line between them when it
    wrote more than the two hold. ``output_truncated`` means it wrote more than
    ``LEARNER_OUTPUT_BYTES`` to ``flooded_streams`` and was stopped there.
    """

    returncode: int | None  # negative: killed by that signal
    stdout: bytes
    stderr: bytes
    timed_out: bool
    memory_exceeded: bool
    duration_s: float
    output_truncated: bool = False
    flooded_streams: tuple[str, ...] = ()  # "stdout", "stderr": the ones past the bound
    stdout_dropped_bytes: int = 0  # read past the bound and not kept
    stderr_dropped_bytes: int = 0  # read between the kept start and end, not kept

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not (self.timed_out or self.memory_exceeded)

    @property
    def output_note(self) -> str:
        """For the learner, when its output was cut: which stream and where; else ""."""
        if not self.flooded_streams:
            return ""
        return (
            f"Your program wrote more than {_human_bytes(LEARNER_OUTPUT_BYTES)} to "
            f"{' and '.join(self.flooded_streams)} and was stopped there; "
            "only that first part was read."
        )


@dataclass(frozen=True)
class _Check:
    name: str
    score: float
    max_score: float
    passed: bool
    output: str
    visibility: str
    tags: tuple[str, ...]

    def as_json(self, output_bytes: int = CHECK_OUTPUT_BYTES) -> dict[str, object]:
        return {
            "name": self.name,
            "score": self.score,
            "max_score": self.max_score,
            "status": "passed" if self.passed else "failed",
            "output": _clip(self.output, output_bytes),
            "visibility": self.visibility,
            "tags": list(self.tags),
        }

    def progress_json(self) -> dict[str, object]:
        """The check as streamed: its output cut until the record fits its limit."""
        output_bytes = PROGRESS_OUTPUT_BYTES
        while True:
            record = self.as_json(output_bytes)
            if len(_progress_bytes({"check": record})) <= PROGRESS_RECORD_BYTES or not output_bytes:
                return record
            output_bytes = output_bytes // 2 if output_bytes > 64 else 0


class _Capture:
    """One output stream of a learner program, kept in bounded memory.

    The first ``head_bytes`` are kept, then (when ``tail_bytes``) the last ``tail_bytes``;
    what falls between is counted, not kept. Reading stops at ``LEARNER_OUTPUT_BYTES``.
    """

    def __init__(self, name: str, fd: int, head_bytes: int, tail_bytes: int = 0) -> None:
        self.name = name
        self.fd = fd
        self.head_bytes = head_bytes
        self.tail_bytes = tail_bytes
        self.head = bytearray()
        self.tail = bytearray()
        self.read = 0
        os.set_blocking(fd, False)

    def take(self, chunk: bytes) -> None:
        self.read += len(chunk)
        room = self.head_bytes - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if self.tail_bytes and chunk:
            self.tail += chunk
            del self.tail[: -self.tail_bytes]

    @property
    def flooded(self) -> bool:
        return self.read > LEARNER_OUTPUT_BYTES

    @property
    def dropped(self) -> int:
        return self.read - len(self.head) - len(self.tail)

    def data(self) -> bytes:
        if not self.tail:
            return bytes(self.head)
        gap = b"\n[... %d bytes left out ...]\n" % self.dropped if self.dropped else b""
        return bytes(self.head) + gap + bytes(self.tail)


class _Exchange:
    """Feeds a learner program its input and reads its output, in one thread.

    One selector loop, no helper threads: nothing reads a descriptor after it was
    closed (a number the next run may already have been given), a program that does
    not read its input cannot block the checker, and a flood is cut at the bound.
    """

    def __init__(self, process: subprocess.Popen[bytes], data: bytes | None) -> None:
        assert process.stdout is not None and process.stderr is not None
        self.process = process
        self.selector = selectors.DefaultSelector()
        self.stdout = _Capture("stdout", process.stdout.fileno(), LEARNER_OUTPUT_BYTES)
        self.stderr = _Capture(
            "stderr",
            process.stderr.fileno(),
            LEARNER_STDERR_HEAD_BYTES,
            LEARNER_STDERR_TAIL_BYTES,
        )
        for capture in (self.stdout, self.stderr):
            self.selector.register(capture.fd, selectors.EVENT_READ, capture)
        self.pending = memoryview(data or b"")
        self.closed = False
        if process.stdin is not None:
            os.set_blocking(process.stdin.fileno(), False)
            self.selector.register(process.stdin.fileno(), selectors.EVENT_WRITE, None)
            if not self.pending:
                self._close_input()

    @property
    def flooded(self) -> tuple[str, ...]:
        return tuple(c.name for c in (self.stdout, self.stderr) if c.flooded)

    def run_until_exit(self, deadline: float) -> bool:
        """Serve the program until it exits, floods or reaches ``deadline``; True when
        the deadline stopped it. A flooding program is killed at once."""
        while self.process.poll() is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                _kill_group(self.process.pid)
                self.process.wait()
                return True
            if not self.selector.get_map():
                # Its pipes are closed but it runs on: only its exit is left to wait for.
                try:
                    self.process.wait(timeout=remaining)
                except subprocess.TimeoutExpired:
                    continue
                break
            # A short wait, so that an exit while a child holds the pipes is seen soon.
            self._serve(min(remaining, 0.05))
            if self.flooded:
                _kill_group(self.process.pid)
        return False

    def drain(self, seconds: float) -> None:
        """Read what is left in its pipes once it is dead, then close them."""
        deadline = time.monotonic() + seconds
        self._close_input()
        while any(key.data is not None for key in self.selector.get_map().values()):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self._serve(remaining)
        self.close()

    def close(self) -> None:
        """Close the pipes; safe to call twice."""
        if self.closed:
            return
        self._close_input()
        self.closed = True
        self.selector.close()
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()

    def _serve(self, timeout: float) -> None:
        for key, _ in self.selector.select(timeout):
            if key.data is None:
                self._write_input(key.fd)
            else:
                self._read(key.data)

    def _read(self, capture: _Capture) -> None:
        try:
            chunk = os.read(capture.fd, READ_CHUNK)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if chunk:
            capture.take(chunk)
        if not chunk or capture.flooded:
            self.selector.unregister(capture.fd)  # past the bound: never read further

    def _write_input(self, fd: int) -> None:
        try:
            written = os.write(fd, self.pending[:READ_CHUNK])
        except BlockingIOError:
            return
        except OSError:
            written = len(self.pending)  # it stopped reading: its own problem
        self.pending = self.pending[written:]
        if not self.pending:
            self._close_input()

    def _close_input(self) -> None:
        stdin = self.process.stdin
        if stdin is None or stdin.closed:
            return
        if stdin.fileno() in self.selector.get_map():
            self.selector.unregister(stdin.fileno())
        try:
            stdin.close()
        except OSError:
            pass  # the pipe's far end is already gone


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
        limit = env.get("DOWNSTACK_RESULT_BYTES", "")
        # The run's limit on the results document; None outside the sandbox.
        self.result_bytes: int | None = int(limit) if limit.isdigit() else None
        # start_learner's processes take the uids above the run's learner uid; the host
        # draws that one at random from a range of a billion, so these are unused too.
        self._extra_uids = itertools.count(1)
        self._progress = _ProgressStream.from_env(env, self.result_bytes)
        self._budget: Budget | None = None

    # -- running the learner's program -------------------------------------------------

    def run_learner(
        self,
        command: Sequence[str],
        *,
        input: bytes | None = None,
        timeout_s: float = 5.0,
        memory_mb: int = 256,
        extra_env: Mapping[str, str] | None = None,
        source: Path | str | None = None,
    ) -> LearnerRun:
        """Run the learner's program in a fresh copy of the submission and wait for it.

        ``source`` runs it in a fresh copy of another folder of the checker's instead
        (say, the learner's test beside one version of the code under test). Every
        process it started is gone when this returns, and its working copy and any files
        it left in shared scratch directories are removed. Inside ``budget``, the
        timeout is at most what is left of the budget.
        """
        if self._budget is not None:
            timeout_s = min(timeout_s, max(self._budget.remaining(), MIN_TIMEOUT_S))
        uid = self.learner_uid
        workdir = _fresh_copy(self._source(source), uid)
        oom_kills_before = _oom_kills()
        started = time.monotonic()
        try:
            process = _start(
                command,
                workdir,
                _learner_env(workdir, extra_env),
                uid,
                _learner_limits(timeout_s, memory_mb),
                stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
            )
        except OSError as exc:
            _clean_up(workdir, None, uid)
            return LearnerRun(None, b"", str(exc).encode(), False, False, 0.0)
        exchange = _Exchange(process, input)
        try:
            timed_out = exchange.run_until_exit(started + timeout_s)
            duration = time.monotonic() - started
            _clean_up(workdir, process.pid, uid)
            exchange.drain(PIPE_DRAIN_S)
        finally:
            exchange.close()

        flooded = exchange.flooded
        stdout, stderr = exchange.stdout.data(), exchange.stderr.data()
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
            or (code in (-signal.SIGKILL, -signal.SIGSEGV) and not flooded)
        )
        if flooded:
            # The staff log says why the run ended, beside the checker's own lines.
            _note(
                f"run_learner {_shown(command)}: stopped after more than "
                f"{LEARNER_OUTPUT_BYTES} bytes on {' and '.join(flooded)}"
            )
        return LearnerRun(
            returncode=code,
            stdout=stdout,
            stderr=stderr,
            timed_out=timed_out,
            memory_exceeded=memory_exceeded,
            duration_s=duration,
            output_truncated=bool(flooded),
            flooded_streams=flooded,
            stdout_dropped_bytes=exchange.stdout.dropped,
            stderr_dropped_bytes=exchange.stderr.dropped,
        )

    def start_learner(
        self,
        command: Sequence[str],
        *,
        cpu_s: float = 30.0,
        memory_mb: int = 256,
        processes: int = LEARNER_PROCESSES,
        extra_env: Mapping[str, str] | None = None,
        source: Path | str | None = None,
        isolated: bool = False,
    ) -> LearnerProcess:
        """Start a long-lived learner program under a fresh uid of its own; see the module
        docstring. Nothing is waited for: talk to it with the returned process's methods
        and always ``close()`` it.

        ``cpu_s`` is its CPU-time allowance (SIGXCPU past it), ``processes`` how many
        processes its uid may have at once. Its working folder is a fresh copy of the
        submission (or of ``source``), its own to change; with ``isolated`` it is a
        read-only copy and the process can reach nothing but its pipes.

        Raises LearnerProcessError when the program cannot be started (no such command).
        """
        uid = None if self.learner_uid is None else self.learner_uid + next(self._extra_uids)
        return LearnerProcess(
            command,
            source=self._source(source),
            uid=uid,
            env=extra_env,
            limits=_learner_limits(cpu_s, memory_mb, processes=processes),
            isolated=isolated,
        )

    def _source(self, source: Path | str | None) -> Path:
        return self.submission_dir if source is None else Path(source).resolve()

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
        """Record one test; returns ``passed`` so checks can gate later ones.

        ``output`` may quote anything the learner's program printed: NUL characters and
        unpaired surrogates become U+FFFD, and past ``CHECK_OUTPUT_BYTES`` (UTF-8) its
        middle is left out, with a line saying how much.
        """
        if visibility not in VISIBILITIES:
            raise ValueError(f"visibility must be one of {VISIBILITIES}, got {visibility!r}")
        if isinstance(tags, str):
            raise ValueError("tags must be a sequence of strings, not one string")
        if score is None:
            score = max_score if passed else 0.0
        if not (math.isfinite(score) and math.isfinite(max_score)) or not 0 <= score <= max_score:
            raise ValueError(f"check {name!r}: score {score} must be within 0..{max_score}")
        test = _Check(
            name,
            float(score),
            float(max_score),
            passed,
            _clip(_clean(output), CHECK_OUTPUT_BYTES),
            visibility,
            tuple(tags),
        )
        self._tests.append(test)
        if self._progress is not None:
            self._progress.send({"check": test.progress_json()})
        return passed

    def expect(self, name: str, *, max_score: float = 1.0, visibility: str = "visible") -> None:
        """Declare a check to come, before the work for it starts: when the run's time
        limit is reached, the checks made by then are scored and the declared ones not
        made are shown as not run, each with its points, so the score is out of the
        right total. Declare every check the checker will make (the final results must
        hold each, with this maximum and visibility); without declarations a time-out
        scores nothing."""
        _check_name(name)
        if visibility not in VISIBILITIES:
            raise ValueError(f"visibility must be one of {VISIBILITIES}, got {visibility!r}")
        if not math.isfinite(max_score) or max_score < 0:
            raise ValueError(f"check {name!r}: max_score {max_score} must be a number >= 0")
        record = {"name": _clean(name), "max_score": float(max_score), "visibility": visibility}
        if self._progress is not None:
            self._progress.send({"expect": record})

    def running(self, name: str) -> None:
        """Say which check the checker is working on now, for the learner's page while
        the run goes on (and, when time runs out, for the feedback). Name it as the
        learner will see it; for a hidden check, name nothing secret."""
        _check_name(name)
        if self._progress is not None:
            self._progress.send({"running": _clean(name)})

    @contextlib.contextmanager
    def budget(self, name: str, seconds: float) -> Iterator[Budget]:
        """A time budget for one check: ``with g.budget("hidden case 2", 10) as b:``.

        It says the check is running (as ``running``), and every ``run_learner`` inside
        gets at most what is left of the budget as its timeout; use ``b.deadline`` for
        ``read_line`` and ``b.spent`` afterwards. A learner program that hangs then
        costs that check only, and the checker moves on to the next one.
        """
        if not math.isfinite(seconds) or seconds <= 0:
            raise ValueError(f"a budget must be a positive number of seconds, got {seconds!r}")
        self.running(name)
        outer, self._budget = self._budget, Budget(name, seconds)
        try:
            yield self._budget
        finally:
            self._budget = outer

    def results(self) -> dict[str, object]:
        """The results document as a dict (what ``emit`` prints)."""
        return self._fitted()[0]

    def emit(self) -> None:
        """Print the results document to stdout; call once, at the end.

        When the document would pass the run's result size limit, every output is
        shortened to the same, smaller size until it fits (and the staff log says so):
        long quotes of a learner's output cost detail, never the score.
        """
        document, output_bytes = self._fitted()
        if output_bytes < CHECK_OUTPUT_BYTES:
            _note(
                f"emit: outputs shortened to {output_bytes} bytes each so that the results "
                f"fit in {self.result_bytes} bytes"
            )
        sys.stdout.write(json.dumps(document))
        sys.stdout.flush()

    def _fitted(self) -> tuple[dict[str, object], int]:
        """The document with outputs cut to the largest size (halving from
        CHECK_OUTPUT_BYTES) at which it fits ``result_bytes``, and that size."""
        output_bytes = CHECK_OUTPUT_BYTES
        while True:
            document = self._document(output_bytes)
            if (
                self.result_bytes is None
                or output_bytes <= SHORTEST_FITTED_OUTPUT_BYTES
                or len(json.dumps(document)) <= self.result_bytes
            ):
                return document, output_bytes
            output_bytes //= 2

    def _document(self, output_bytes: int) -> dict[str, object]:
        document: dict[str, object] = {
            "score": sum(test.score for test in self._tests),
            "max_score": sum(test.max_score for test in self._tests),
            "tests": [test.as_json(output_bytes) for test in self._tests],
        }
        if self.output:
            document["output"] = _clip(_clean(self.output), output_bytes)
        return document

    def submission_file(self, name: str) -> bytes | None:
        """The bytes of a submitted file, read as the checker; None if it was not submitted."""
        path = (self.submission_dir / name).resolve()
        if not path.is_relative_to(self.submission_dir):
            raise ValueError(f"{name!r} is outside the submission")
        try:
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None


class LearnerProcessError(Exception):
    """A long-lived learner process failed: it exited, hung, or broke the line protocol.

    The message is written for the learner ("did not answer in time", "exited with
    code 1", with the end of its stderr); a learner's failure is a verdict, not a fault.
    The subclasses say which failure it was, for checkers that treat them differently.
    """


class LearnerProcessTimeout(LearnerProcessError):
    """It did not answer (or read its input) by the deadline; it may still be running."""


class LearnerProcessExited(LearnerProcessError):
    """It exited or closed its side of a pipe."""


class LearnerProcess:
    """A learner program started by ``Grader.start_learner``; see the module docstring.

    The checker talks to it line by line over its stdin and stdout; at most
    ``max_bytes`` of a line are buffered. Its stderr is drained in the background, its
    last ``STDERR_TAIL_BYTES`` kept for messages and ``stderr_bytes`` counting it all, so
    it can write as much as it likes without blocking or costing the checker memory.
    Measurements (``rss_kib``, ``cpu_time_s``) come from /proc, outside the learner's
    reach.
    """

    def __init__(
        self,
        command: Sequence[str],
        *,
        source: Path,
        uid: int | None,
        env: Mapping[str, str] | None,
        limits: list[tuple[int, int]],
        isolated: bool,
    ) -> None:
        self.uid = uid
        self.isolated = isolated
        self.workdir = _fresh_copy(source, None if isolated else uid)
        self._closed = False
        self._buffer = bytearray()
        self._stderr_tail = bytearray()
        self.stderr_bytes = 0  # all it wrote to stderr so far; stderr_tail keeps the end
        seccomp = _IsolationFilter() if isolated else None
        try:
            self._process = _start(
                command,
                self.workdir,
                _learner_env(self.workdir, env),
                uid,
                limits,
                stdin=subprocess.PIPE,
                seccomp=seccomp,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            _clean_up(self.workdir, None, uid)
            if isinstance(exc, subprocess.SubprocessError):
                # preexec_fn failed: the sandbox cannot isolate, a fault of the platform.
                raise RuntimeError(f"could not isolate the learner's process: {exc}") from exc
            raise LearnerProcessError(f"could not be started: {exc.strerror or exc}") from None
        assert self._process.stdin and self._process.stdout and self._process.stderr
        self.pid = self._process.pid
        self._stdin = self._process.stdin.fileno()
        self._stdout = self._process.stdout.fileno()
        os.set_blocking(self._stdin, False)
        self._drain = threading.Thread(target=self._keep_stderr_tail, daemon=True)
        self._drain.start()

    def __enter__(self) -> LearnerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- talking to it -----------------------------------------------------------------

    def send_line(self, line: str | bytes, *, timeout_s: float = SEND_TIMEOUT_S) -> None:
        """Write one line (a newline is added) to its stdin."""
        data = (line.encode() if isinstance(line, str) else line) + b"\n"
        deadline = time.monotonic() + timeout_s
        while data:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise LearnerProcessTimeout(f"stopped reading its input for {timeout_s:g} s")
            try:
                _, writable, _ = select.select([], [self._stdin], [], remaining)
                if writable:
                    data = data[os.write(self._stdin, data) :]
            except BlockingIOError:
                continue
            except OSError:
                raise LearnerProcessExited(self._died("stopped reading its input")) from None

    def read_line(self, deadline: float, *, max_bytes: int = MAX_LINE_BYTES) -> str:
        """The next line it wrote to stdout, without the newline; ``deadline`` is a
        ``time.monotonic()`` value. Raises LearnerProcessTimeout when it has not answered
        by then, LearnerProcessExited when it exits, and LearnerProcessError for a line
        longer than ``max_bytes``."""
        while True:
            end = self._buffer.find(b"\n")
            if end >= 0:
                line = bytes(self._buffer[:end])
                del self._buffer[: end + 1]
                return line.decode(errors="replace")
            if len(self._buffer) > max_bytes:
                raise LearnerProcessError(f"wrote a line longer than {max_bytes:,} bytes")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise LearnerProcessTimeout("did not answer in time")
            ready, _, _ = select.select([self._stdout], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(self._stdout, 1 << 16)
            if not chunk:
                raise LearnerProcessExited(self._died("exited"))
            self._buffer += chunk

    def stderr_tail(self, lines: int = 8) -> str:
        """The last lines it wrote to stderr, for messages to the learner."""
        text = bytes(self._stderr_tail).decode(errors="replace").strip()
        return "\n".join(text.splitlines()[-lines:])

    # -- observing and controlling it --------------------------------------------------

    def poll(self) -> int | None:
        """Its exit code (negative: killed by that signal), None while it runs."""
        return self._process.poll()

    def rss_kib(self) -> int | None:
        """Its resident memory from /proc, None once it has exited."""
        try:
            status = Path(f"/proc/{self.pid}/status").read_text()
        except OSError:
            return None
        for row in status.splitlines():
            if row.startswith("VmRSS:"):
                return int(row.split()[1])
        return None  # a zombie has no memory left to report

    def cpu_time_s(self) -> float | None:
        """User plus system CPU time it and its waited-for children used, from /proc."""
        try:
            stat_line = Path(f"/proc/{self.pid}/stat").read_text()
        except OSError:
            return None
        # The command name (field 2) may hold spaces and parentheses; fields follow the last ')'.
        fields = stat_line[stat_line.rindex(")") + 2 :].split()
        ticks = sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
        return ticks / os.sysconf("SC_CLK_TCK")

    def pause(self) -> None:
        """Stop it and everything it started (SIGSTOP), as a long GC pause or a frozen VM."""
        self._signal_all(signal.SIGSTOP)

    def resume(self) -> None:
        """Let it go on after ``pause`` (SIGCONT)."""
        self._signal_all(signal.SIGCONT)

    def kill(self) -> None:
        """End it and everything it started at once (SIGKILL); ``close`` still cleans up."""
        self._signal_all(signal.SIGKILL)

    def wait(self, timeout_s: float) -> int | None:
        """Wait up to ``timeout_s`` for it to exit; its exit code, None if it still runs."""
        try:
            return self._process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return None

    def close(self) -> None:
        """End it and everything it started, and nothing else; remove its files. Safe to
        call twice."""
        if self._closed:
            return
        self._closed = True
        self._signal_all(signal.SIGCONT)  # a paused process must be able to die
        _clean_up(self.workdir, self.pid, self.uid)
        self.wait(5.0)  # the sweep has killed it; reap it
        self._drain.join(PIPE_DRAIN_S)
        # stderr is the drain thread's to close: closed here while it still reads, its
        # number could be given to a new pipe and read from by mistake.
        for stream in (self._process.stdin, self._process.stdout):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass  # the pipe's far end is already gone
        shutil.rmtree(self.workdir, ignore_errors=True)

    def _signal_all(self, signum: int) -> None:
        if self.uid is None:
            _kill_group(self.pid, signum)
        else:
            # Its uid is its own, so every process of that uid is one it started, even
            # those that left its process group.
            _as_uid(self.uid, lambda: _signal_every_process(signum))

    def _died(self, what: str) -> str:
        code = self.wait(1.0)
        if code is not None:
            # The drain thread may not have read the last of stderr yet (a loaded
            # machine); the traceback is what the learner needs to see.
            self._drain.join(PIPE_DRAIN_S)
        tail = self.stderr_tail(6)
        exit_text = f" with code {code}" if code is not None else ""
        if code == -signal.SIGXCPU:
            exit_text = " after using up its CPU time"
        return f"{what}{exit_text}" + (f"; the end of its stderr:\n{tail}" if tail else "")

    def _keep_stderr_tail(self) -> None:
        """Runs in the drain thread: reads stderr to its end, keeping only the tail."""
        stderr = self._process.stderr
        assert stderr is not None
        try:
            while True:
                try:
                    chunk = os.read(stderr.fileno(), READ_CHUNK)
                except OSError:
                    return
                if not chunk:
                    return
                self.stderr_bytes += len(chunk)
                self._stderr_tail += chunk
                del self._stderr_tail[:-STDERR_TAIL_BYTES]
        finally:
            stderr.close()


def _clean(text: str) -> str:
    """``text`` as the platform can store it: no NUL characters (PostgreSQL's text
    refuses them) and no unpaired surrogates (not UTF-8), each made U+FFFD."""
    text = text.replace("\0", "\ufffd")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = "".join("\ufffd" if "\ud800" <= char <= "\udfff" else char for char in text)
    return text


class Budget:
    """The time one check may take (``Grader.budget``): ``deadline`` is on the
    ``time.monotonic()`` clock, as ``read_line`` takes it."""

    def __init__(self, name: str, seconds: float) -> None:
        self.name = name
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds

    def remaining(self) -> float:
        return max(self.deadline - time.monotonic(), 0.0)

    @property
    def spent(self) -> bool:
        return self.remaining() == 0.0


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not name or len(name) > MAX_CHECK_NAME_CHARS:
        raise ValueError(f"a check's name must be 1 to {MAX_CHECK_NAME_CHARS} characters")


class _ProgressStream:
    """The write end of the entry program's progress pipe: framed records, ``<length>\\n``
    then the JSON, all of them together within the run's result limit (as the entry
    program requires). Once the budget is spent or the pipe is gone, records are dropped
    (the staff log says so): the final document still carries every check."""

    def __init__(self, fd: int, budget: int | None) -> None:
        # Learner programs never get it: close_fds, and not inheritable either.
        os.set_inheritable(fd, False)
        self.fd = fd
        self.budget = budget
        self.lock = threading.Lock()
        self.stopped = False

    @classmethod
    def from_env(cls, env: Mapping[str, str], budget: int | None) -> _ProgressStream | None:
        fd = env.get("DOWNSTACK_PROGRESS_FD", "")
        if not fd.isdigit():
            return None
        try:
            os.fstat(int(fd))
        except OSError:
            return None  # named but not open: nothing to stream to
        return cls(int(fd), budget)

    def send(self, record: dict[str, object]) -> None:
        payload = _progress_bytes(record)
        with self.lock:
            if self.stopped:
                return
            if self.budget is not None and len(payload) > self.budget:
                self._stop("the progress stream reached the run's result limit")
                return
            data = str(len(payload)).encode("ascii") + b"\n" + payload
            try:
                while data:
                    data = data[os.write(self.fd, data) :]
            except OSError as exc:
                self._stop(f"the progress pipe failed ({exc.strerror or exc})")
                return
            if self.budget is not None:
                self.budget -= len(payload)

    def _stop(self, why: str) -> None:
        self.stopped = True
        _note(f"{why}; later checks appear with the final results only")


def _progress_bytes(record: dict[str, object]) -> bytes:
    return json.dumps(record, ensure_ascii=False).encode("utf-8")


def _clip(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` bytes of UTF-8: its start and end, and a line saying
    how many bytes of the middle were left out."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    room = max(limit - len(_gap(len(data))), 0)
    head = data[: room // 2].decode("utf-8", "ignore")
    tail = data[len(data) - (room - room // 2) :].decode("utf-8", "ignore") if room else ""
    left_out = len(data) - len(head.encode("utf-8")) - len(tail.encode("utf-8"))
    return head + _gap(left_out) + tail


def _gap(left_out: int) -> str:
    return f"\n[... {left_out} bytes left out ...]\n"


def _note(message: str) -> None:
    """A line for the staff log (the checker's stderr)."""
    sys.stderr.write(f"downstack_harness: {message}\n")
    sys.stderr.flush()


def _shown(command: Sequence[str]) -> str:
    text = " ".join(command)
    return text if len(text) <= 120 else text[:117] + "..."


def _human_bytes(size: int) -> str:
    if size >= 1 << 20 and size % (1 << 20) == 0:
        return f"{size >> 20} MB"
    if size >= 1 << 10 and size % (1 << 10) == 0:
        return f"{size >> 10} KB"
    return f"{size} bytes"


def _learner_env(workdir: Path, extra_env: Mapping[str, str] | None) -> dict[str, str]:
    env = {
        "PATH": LEARNER_PATH,
        "HOME": str(workdir),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
    }
    env.update(extra_env or {})
    return env


def _start(
    command: Sequence[str],
    workdir: Path,
    env: Mapping[str, str],
    uid: int | None,
    limits: list[tuple[int, int]],
    *,
    stdin: int,
    seccomp: _IsolationFilter | None = None,
) -> subprocess.Popen[bytes]:
    """Start a learner program: its uid with no extra groups, its own session, limits."""

    def prepare() -> None:  # runs in the child after the uid switch, before exec
        _apply_limits(limits)
        if seccomp is not None:
            seccomp.install()

    return subprocess.Popen(
        list(command),
        cwd=workdir,
        env=dict(env),
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        close_fds=True,
        # Its own session and process group: the whole group can be killed, and it has
        # no controlling terminal to reach the checker through.
        start_new_session=True,
        user=uid,
        group=uid,
        extra_groups=[] if uid is not None else None,
        umask=0o022,  # files it writes stay readable by the checker
        preexec_fn=prepare,
    )


def _fresh_copy(source: Path, owner: int | None) -> Path:
    """A new folder with a copy of `source`, owned by `owner` (None: the checker's, and
    then read-only to everyone else)."""
    workdir = Path(tempfile.mkdtemp(prefix="learner-"))
    if source.is_dir():
        shutil.copytree(source, workdir, dirs_exist_ok=True, symlinks=False)
    # copytree copied the source's modes, and the checker's own folders are closed to
    # everyone else; the learner must read the copy, and the checker (root without a DAC
    # override) must still walk it once the learner owns it.
    for path in [workdir, *workdir.rglob("*")]:
        if path.is_dir():
            path.chmod(0o755)
        else:
            path.chmod(0o755 if path.stat().st_mode & 0o100 else 0o644)
    if owner is not None:
        # Deepest first: a folder handed over early could lock the checker out of the
        # files below it.
        for path in reversed([workdir, *workdir.rglob("*")]):
            os.chown(path, owner, owner, follow_symlinks=False)
    return workdir


def _clean_up(workdir: Path, pgid: int | None, uid: int | None) -> None:
    """End the learner's processes and remove its files: its copy and its scratch."""
    if pgid is not None:
        _kill_group(pgid)
    if uid is not None:
        # As the learner uid: kill(-1) then reaches exactly the processes that uid owns
        # (including any that left the process group with setsid), and removing its
        # files needs no extra capability for the checker.
        if _as_uid(uid, lambda: _sweep_learner(workdir, uid)) == SWEEP_INCOMPLETE:
            left = len(_learner_states(uid, checker=os.getpid()))
            _note(f"{left} of the learner's processes outlived the {SWEEP_SECONDS:g} s sweep")
    shutil.rmtree(workdir, ignore_errors=True)  # what the checker itself owns


def _as_uid(uid: int, action: Callable[[], bool | None]) -> int:
    """Run `action` in a child that has become `uid` (never with root's reach).

    Returns the child's exit status: 0 when it ran, SWEEP_INCOMPLETE when it returned
    False, 1 when it could not run or raised.
    """
    child = os.fork()
    if child == 0:
        code = 1
        try:
            # Holding the checker's stdout (the results channel) or stderr as the
            # learner uid would put them one signal or ptrace away from learner code.
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            os.closerange(3, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            if os.getuid() != 0:
                code = SWEEP_INCOMPLETE if action() is False else 0
        finally:
            os._exit(code)
    _, status = os.waitpid(child, 0)
    return os.waitstatus_to_exitcode(status)


def _signal_every_process(signum: int) -> None:
    try:
        os.kill(-1, signum)  # every process this uid may signal, except the caller
    except ProcessLookupError:
        pass


class _IsolationFilter:
    """A seccomp filter that leaves a process only the pipes it was given.

    It refuses (EPERM) the calls that open a channel to another process: sockets of any
    family, creating files, folders, device nodes, links or renames (open with O_CREAT
    included), System V and POSIX IPC objects, kernel keys, io_uring (whose requests
    would bypass the filter) and perf events. A process of another architecture's system
    call table (32-bit calls on x86-64) is killed. Built in the parent; ``install`` only
    makes two prctl calls, so the child does no allocation between fork and exec.
    """

    # Per architecture: seccomp's audit id, the open-like calls and where their flags
    # are, and the calls refused outright.
    TABLES = {
        "x86_64": (
            0xC000003E,
            {2: 1, 257: 2},  # open(path, flags), openat(dirfd, path, flags)
            (41, 53, 85, 83, 258, 133, 259, 86, 265, 88, 266, 82, 264, 316, 437)
            + (29, 64, 68, 240, 248, 249, 250, 425, 298),
        ),
        "aarch64": (
            0xC00000B7,
            {56: 2},  # openat
            (198, 199, 34, 33, 37, 36, 38, 276, 437)
            + (194, 190, 186, 180, 217, 218, 219, 425, 241),
        ),
    }
    O_CREAT = 0o100
    X32_BIT = 0x40000000

    def __init__(self) -> None:
        machine = platform.machine()
        if machine not in self.TABLES:
            raise RuntimeError(f"isolated learner processes are not supported on {machine}")
        arch, opens, refused = self.TABLES[machine]
        program = self._program(arch, opens, refused, check_x32=machine == "x86_64")
        self._filter = ctypes.create_string_buffer(b"".join(program))
        self._fprog = ctypes.create_string_buffer(
            struct.pack("HL", len(program), ctypes.addressof(self._filter))
        )
        self._prctl = ctypes.CDLL(None, use_errno=True).prctl
        # The kernel wants the unused arguments to be zero, so all five are passed.
        self._prctl.argtypes = [ctypes.c_int] + [ctypes.c_ulong] * 4
        self._prctl.restype = ctypes.c_int

    def install(self) -> None:
        if self._prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
        # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
        if self._prctl(22, 2, ctypes.addressof(self._fprog), 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP) failed")

    @classmethod
    def _program(
        cls, arch: int, opens: Mapping[int, int], refused: Sequence[int], *, check_x32: bool
    ) -> list[bytes]:
        load, jeq, jge, jset, ret = 0x20, 0x15, 0x35, 0x45, 0x06
        allow, deny, kill = 0x7FFF0000, 0x00050000 | 1, 0x80000000  # ERRNO(EPERM)
        # Instructions as (code, jump-if-true label, jump-if-false label, k); labels are
        # resolved to the relative offsets BPF wants once the layout is known.
        body: list[tuple[int, str | None, str | None, int]] = [
            (load, None, None, 4),  # seccomp_data.arch
            (jeq, None, "kill", arch),
            (load, None, None, 0),  # seccomp_data.nr
        ]
        if check_x32:
            body.append((jge, "deny", None, cls.X32_BIT))
        for number in opens:
            body.append((jeq, f"open{number}", None, number))
        for number in refused:
            body.append((jeq, "deny", None, number))
        body.append((ret, None, None, allow))
        labels: dict[str, int] = {}
        for number, flags_arg in opens.items():
            labels[f"open{number}"] = len(body)
            # Low 32 bits of argument `flags_arg` (seccomp_data.args, little-endian).
            body.append((load, None, None, 16 + 8 * flags_arg))
            body.append((jset, "deny", None, cls.O_CREAT))
            body.append((ret, None, None, allow))
        labels["deny"] = len(body)
        body.append((ret, None, None, deny))
        labels["kill"] = len(body)
        body.append((ret, None, None, kill))

        def offset(at: int, label: str | None) -> int:
            return 0 if label is None else labels[label] - at - 1

        return [
            struct.pack("HBBI", code, offset(i, true), offset(i, false), k)
            for i, (code, true, false, k) in enumerate(body)
        ]


def _learner_limits(
    timeout_s: float, memory_mb: int, *, processes: int = LEARNER_PROCESSES
) -> list[tuple[int, int]]:
    cpu = math.ceil(timeout_s) + 1
    return [
        (resource.RLIMIT_AS, memory_mb << 20),
        (resource.RLIMIT_CPU, cpu),
        (resource.RLIMIT_NPROC, processes),
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


def _kill_group(pgid: int, signum: int = signal.SIGKILL) -> None:
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass  # already gone


def _learner_states(uid: int, checker: int) -> list[str]:
    """The states (R, S, T, Z, ...) of the processes of `uid` other than the caller,
    leaving out the ended ones that the `checker` process reaps itself."""
    me = str(os.getpid())
    states = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or entry.name == me:
            continue
        try:
            # /proc/<pid> belongs to the process's uid (root's once it is not dumpable),
            # so one stat rules out most processes before their status is read.
            if entry.stat().st_uid not in (uid, 0):
                continue
            status = Path(entry.path, "status").read_text()
        except OSError:
            continue  # it exited while we looked
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if str(uid) not in fields.get("Uid", "").split()[:3]:
            continue
        state = (fields.get("State", "").split() or ["?"])[0]
        if state in GONE and fields.get("PPid", "").strip() == str(checker):
            continue  # the learner's own program: the checker waits for it
        states.append(state)
    return states


def _signal_until(
    uid: int, signum: int | None, settled: Callable[[list[str]], bool], ends: float
) -> bool:
    """Send `signum` (None: nothing) to every process of the caller's uid until
    `settled` holds for their states; False when the time ran out first."""
    while True:
        if signum is not None:
            try:
                os.kill(-1, signum)  # every process this uid may signal, except the caller
            except ProcessLookupError:
                pass  # gVisor: none left to signal
        if settled(_learner_states(uid, checker=os.getppid())):
            return True
        if time.monotonic() > ends:
            return False
        time.sleep(0.01)


def _remove_ipc_objects(uid: int) -> None:
    """Runs as the learner uid: remove the System V shared memory segments, semaphore
    sets and message queues it owns or created, which would otherwise carry data from
    one run to the next."""
    libc = ctypes.CDLL(None, use_errno=True)
    for kind, id_column, remove in SYSV_IPC:
        try:
            header, *rows = Path("/proc/sysvipc", kind).read_text().splitlines()
        except (OSError, ValueError):
            continue  # no System V IPC here (gVisor may not list it)
        columns = header.split()
        for row in rows:
            fields = dict(zip(columns, row.split(), strict=False))
            if str(uid) not in (fields.get("uid"), fields.get("cuid")):
                continue
            try:
                object_id = int(fields[id_column])
            except (KeyError, ValueError):
                continue
            if kind == "sem":
                getattr(libc, remove)(object_id, 0, 0)  # semctl(id, semnum, IPC_RMID)
            else:
                getattr(libc, remove)(object_id, 0, None)  # shmctl/msgctl(id, IPC_RMID, 0)


def _sweep_learner(workdir: Path, uid: int) -> bool:
    """Runs as the learner uid: end all its processes, then remove all its files.

    False when some of its processes outlived the sweep's time.
    """
    # kill(-1) reaches every process this uid may signal, including those that left the
    # process group. It is not atomic on every kernel (gVisor's is not): a fork bomb
    # forks anew while a round of SIGKILL goes through it, and on a loaded machine can
    # outrun such rounds. A stopped process cannot fork, so rounds of SIGSTOP only ever
    # shrink what still runs; once nothing runs, SIGKILL ends all of it. kill(-1)
    # succeeds while any other process exists, so /proc says when the rounds are done.
    # The ended processes go to PID 1 (the image's entry program), which reaps them in
    # its own time: until it has, they still count as the learner's, so wait for that.
    ends = time.monotonic() + SWEEP_SECONDS
    _signal_until(uid, signal.SIGSTOP, lambda states: set(states) <= STOPPED_OR_GONE, ends)
    # At least one round of SIGKILL, even when the time ran out while stopping.
    ended = _signal_until(uid, signal.SIGKILL, lambda states: set(states) <= GONE, ends)
    reaped = ended and _signal_until(uid, None, lambda states: not states, ends)
    shutil.rmtree(workdir, ignore_errors=True)
    _remove_ipc_objects(uid)
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
    return reaped
