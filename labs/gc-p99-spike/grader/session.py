"""A long-lived service process the checker drives one request at a time over pipes.

The harness's ``run_learner`` feeds a program all of its input and waits for it to end;
a service has to be answered request by request and timed from outside, so this module
starts it itself, under the same rules: the learner uid with no extra groups, its own
session, the harness's resource limits, a clean environment, a fresh copy of its files,
and at the end the harness's sweep, which ends every process of the uid and removes its
files. Latency is measured here, on the checker's side of the pipe, and resident memory
is read from /proc, which the learner's code cannot rewrite.
"""

from __future__ import annotations

import os
import selectors
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

# The harness keeps these private; they are the one definition of the learner's limits
# and of the clean-up sweep, so they are reused rather than copied here.
from downstack_harness import LEARNER_PATH, Grader, _apply_limits, _learner_limits

RUNNER = Path(__file__).resolve().parent / "runner.py"
MAX_LINE_BYTES = 1 << 16
STDERR_TAIL_BYTES = 4096


class ServiceFailed(Exception):
    """The service stopped answering: it crashed, hung, or broke the line protocol."""


class ServiceProcess:
    """The runner with one copy of a service.py, started as the learner uid."""

    def __init__(self, grader: Grader, source: Path, *, memory_mb: int, cpu_s: int) -> None:
        self.grader = grader
        self.workdir = Path(tempfile.mkdtemp(prefix="service-"))
        shutil.copytree(source, self.workdir, dirs_exist_ok=True, symlinks=False)
        # copytree copies the source's modes, and the checker's own folders are closed to
        # everyone else; the checker (root without DAC_OVERRIDE) must still walk this one
        # after it belongs to the learner uid.
        for path in [self.workdir, *self.workdir.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        uid = grader.learner_uid
        if uid is not None:
            for path in [self.workdir, *self.workdir.rglob("*")]:
                os.chown(path, uid, uid, follow_symlinks=False)
        limits = _learner_limits(cpu_s, memory_mb)
        self.process = subprocess.Popen(
            # -I: the runner imports the standard library before the learner's folder.
            ["python3", "-I", "-c", RUNNER.read_text()],
            cwd=self.workdir,
            env={"PATH": LEARNER_PATH, "HOME": str(self.workdir), "LANG": "C.UTF-8"},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            close_fds=True,
            start_new_session=True,
            user=uid,
            group=uid,
            extra_groups=[] if uid is not None else None,
            umask=0o022,
            preexec_fn=lambda: _apply_limits(limits),
        )
        assert self.process.stdin and self.process.stdout and self.process.stderr
        self._stdin = self.process.stdin.fileno()
        self._stdout = self.process.stdout.fileno()
        self._buffer = bytearray()
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._stdout, selectors.EVENT_READ)
        self._stderr_tail = bytearray()
        self._drain = threading.Thread(target=self._keep_stderr_tail, daemon=True)
        self._drain.start()

    # -- talking to it -------------------------------------------------------------------

    def wait_ready(self, timeout_s: float) -> None:
        line = self._read_line(time.monotonic() + timeout_s)
        if line != "READY":
            raise ServiceFailed(f"expected READY after start(), got {line[:200]!r}")

    def request(self, line: str, timeout_s: float) -> tuple[str, int]:
        """(answer, latency in ns from writing the request to reading the whole answer)."""
        data = line.encode() + b"\n"
        sent = time.perf_counter_ns()
        self._write(data)
        answer = self._read_line(time.monotonic() + timeout_s)
        return answer, time.perf_counter_ns() - sent

    def rss_kib(self) -> int | None:
        """Resident set size from /proc, None once the process is gone."""
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return None
        for row in status.splitlines():
            if row.startswith("VmRSS:"):
                return int(row.split()[1])
        return None

    def stderr_tail(self) -> str:
        return bytes(self._stderr_tail).decode(errors="replace").strip()

    def close(self) -> None:
        """End the service and everything of the learner uid; remove its files."""
        self.grader._clean_up(self.workdir, self.process.pid)
        try:
            self.process.wait(timeout=5.0)  # reap it; the sweep has already killed it
        except subprocess.TimeoutExpired:
            pass  # reaped when the checker exits
        self._drain.join(2.0)
        self._selector.close()
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass  # the pipe's far end is already gone
        shutil.rmtree(self.workdir, ignore_errors=True)

    # -- the pipes -----------------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        try:
            while data:
                data = data[os.write(self._stdin, data) :]
        except (BrokenPipeError, OSError) as exc:
            raise ServiceFailed(self._died("stopped reading requests")) from exc

    def _read_line(self, deadline: float) -> str:
        while True:
            end = self._buffer.find(b"\n")
            if end >= 0:
                line = bytes(self._buffer[:end])
                del self._buffer[: end + 1]
                return line.decode(errors="replace")
            if len(self._buffer) > MAX_LINE_BYTES:
                raise ServiceFailed("answered with a line longer than 64 KiB")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ServiceFailed("did not answer in time")
            if not self._selector.select(remaining):
                continue
            chunk = os.read(self._stdout, 1 << 16)
            if not chunk:
                raise ServiceFailed(self._died("exited"))
            self._buffer += chunk

    def _died(self, what: str) -> str:
        try:
            code = self.process.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            code = None
        tail = "\n".join(self.stderr_tail().splitlines()[-6:])
        exit_text = f" with code {code}" if code is not None else ""
        return f"{what}{exit_text}" + (f":\n{tail}" if tail else "")

    def _keep_stderr_tail(self) -> None:
        assert self.process.stderr is not None
        fd = self.process.stderr.fileno()
        while True:
            try:
                chunk = os.read(fd, 1 << 16)
            except OSError:
                return
            if not chunk:
                return
            self._stderr_tail += chunk
            del self._stderr_tail[:-STDERR_TAIL_BYTES]
