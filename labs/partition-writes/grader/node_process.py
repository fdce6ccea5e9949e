"""The learner's node.py as a long-lived process the simulator exchanges messages with.

The harness's `run_learner` runs a program to completion with its input given up front;
a node needs a conversation instead (one message in, one answer out, thousands of times),
so this module starts the process itself, following the harness's rules: the learner uid
with no supplementary groups, its own session, resource limits, a clean environment, a
fresh copy of the submission, and nothing left running or lying around afterwards.
"""

from __future__ import annotations

import json
import os
import resource
import select
import shutil
import signal
import stat
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from simulate import MAX_LINE_BYTES, NodeError, parse_reply

LEARNER_PATH = "/usr/local/bin:/usr/bin:/bin"
NODE_MEMORY_MB = 160
NODE_CPU_S = 30
NODE_PROCESSES = 64
NODE_OPEN_FILES = 64
# The three nodes of a run must talk through the simulator only; with no file to write,
# they cannot pass state to each other (or to a later run) through the file system.
NODE_FILE_BYTES = 0
STDERR_KEEP = 4000
SHARED_SCRATCH = ("/tmp", "/dev/shm")


def _limit_node() -> None:
    # Runs in the child between fork and exec; limits only ever go down.
    for which, value in (
        (resource.RLIMIT_AS, NODE_MEMORY_MB << 20),
        (resource.RLIMIT_CPU, NODE_CPU_S),
        (resource.RLIMIT_NPROC, NODE_PROCESSES),
        (resource.RLIMIT_NOFILE, NODE_OPEN_FILES),
        (resource.RLIMIT_FSIZE, NODE_FILE_BYTES),
        (resource.RLIMIT_CORE, 0),
    ):
        _, ceiling = resource.getrlimit(which)
        if ceiling != resource.RLIM_INFINITY:
            value = min(value, ceiling)
        resource.setrlimit(which, (value, value))


class NodeHung(NodeError):
    """The node stopped answering: waiting any longer would only burn the time limit."""


class _StderrTail(threading.Thread):
    """Drains a node's stderr so it can never block on it; keeps the last few KB."""

    def __init__(self, fd: int) -> None:
        super().__init__(daemon=True)
        self.fd = fd
        self.tail = b""

    def run(self) -> None:
        while True:
            try:
                chunk = os.read(self.fd, 1 << 16)
            except OSError:
                return
            if not chunk:
                return
            self.tail = (self.tail + chunk)[-STDERR_KEEP:]


class LearnerNode:
    """One node process; `exchange` sends a message and waits (bounded) for the answer."""

    def __init__(self, node_id: str, workdir: Path, uid: int | None, answer_within_s: float):
        self.node_id = node_id
        self.answer_within_s = answer_within_s
        self.buffer = b""
        env = {
            "PATH": LEARNER_PATH,
            "HOME": str(workdir),
            "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONHASHSEED": "0",  # set iteration order is then the same on every run
        }
        try:
            self.process = subprocess.Popen(
                ["python3", "node.py"],
                cwd=workdir,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                close_fds=True,
                start_new_session=True,
                user=uid,
                group=uid,
                extra_groups=[] if uid is not None else None,
                umask=0o022,
                preexec_fn=_limit_node,
            )
        except OSError as error:
            raise NodeError(node_id, f"could not be started: {error}") from None
        assert self.process.stderr is not None
        self.stderr = _StderrTail(self.process.stderr.fileno())
        self.stderr.start()

    def exchange(self, message: dict) -> dict:
        assert self.process.stdin is not None and self.process.stdout is not None
        try:
            self.process.stdin.write(json.dumps(message).encode() + b"\n")
            self.process.stdin.flush()
        except OSError:
            raise NodeError(self.node_id, "stopped reading its input (did it crash?)") from None
        return parse_reply(self.node_id, self._read_line())

    def _read_line(self) -> str:
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        deadline = time.monotonic() + self.answer_within_s
        while b"\n" not in self.buffer:
            if len(self.buffer) > MAX_LINE_BYTES:
                raise NodeError(self.node_id, "answered a line longer than 1 MB")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise NodeHung(
                    self.node_id, f"did not answer a message within {self.answer_within_s:g} s"
                )
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                raise NodeError(self.node_id, "exited or closed its output (did it crash?)")
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line.decode(errors="replace")

    def stderr_tail(self, lines: int = 8) -> str:
        text = self.stderr.tail.decode(errors="replace").strip()
        return "\n".join(text.splitlines()[-lines:])

    def close(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.process.wait()
        self.stderr.join(1.0)
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass  # the pipe broke when the node died; nothing left to flush


class Workspace:
    """A read-only copy of the submission for the nodes to run from, and the clean-up."""

    def __init__(self, submission: Path, uid: int | None) -> None:
        self.uid = uid
        self.path = Path(tempfile.mkdtemp(prefix="learner-"))
        if submission.is_dir():
            shutil.copytree(submission, self.path, dirs_exist_ok=True, symlinks=False)
        # Owned by the checker and readable by all: the nodes can load their code, not
        # leave anything behind for one another.
        for path in [self.path, *self.path.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)

    def clean_up(self) -> None:
        if self.uid is not None:
            # As the learner uid, in a child: kill(-1) reaches exactly what that uid runs
            # (including processes that left their session), and its files are its own.
            child = os.fork()
            if child == 0:
                code = 1
                try:
                    os.setgroups([])
                    os.setgid(self.uid)
                    os.setuid(self.uid)
                    if os.getuid() != 0:
                        _sweep(self.uid)
                        code = 0
                finally:
                    os._exit(code)
            os.waitpid(child, 0)
        shutil.rmtree(self.path, ignore_errors=True)


def _sweep(uid: int) -> None:
    for _ in range(50):
        try:
            os.kill(-1, signal.SIGKILL)
        except ProcessLookupError:
            break
        time.sleep(0.01)
    for directory in SHARED_SCRATCH:
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
                if info.st_uid != uid:
                    continue
                if stat.S_ISDIR(info.st_mode):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.unlink(entry.path)
            except OSError:
                continue
