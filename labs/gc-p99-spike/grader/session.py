"""A service (the learner's or the starter's) driven one request at a time over pipes.

``Grader.start_learner`` starts the trusted runner (runner.py) in a fresh copy of the
service's folder, under a uid of its own, with the harness's limits and clean environment,
and ``close`` ends everything it started and removes its files. This module adds the
runner's protocol and the checker-side clock: latency runs from writing a request to
reading the whole answer, measured here, and resident memory comes from /proc; the
learner's code can rewrite neither.

The runner is started with ``python3 -I``: the standard library is imported before the
service's folder, and PYTHON* variables are ignored, so the PYTHONUNBUFFERED and
PYTHONDONTWRITEBYTECODE of the harness's environment leave the measured interpreter as
it was (the runner line-buffers its answers itself).

Every failure is a ``LearnerProcessError`` whose message completes "Your service ...".
"""

from __future__ import annotations

import time
from pathlib import Path

from downstack_harness import Grader, LearnerProcess, LearnerProcessError

RUNNER = Path(__file__).resolve().parent / "runner.py"
# An answer is one order's price breakdown, a few hundred bytes.
MAX_LINE_BYTES = 1 << 16


class ServiceProcess:
    """The runner with one service.py; use it in a ``with`` block, or ``close()`` it."""

    def __init__(self, grader: Grader, source: Path, *, memory_mb: int, cpu_s: float) -> None:
        self.process: LearnerProcess = grader.start_learner(
            ["python3", "-I", "-c", RUNNER.read_text()],
            source=source,
            memory_mb=memory_mb,
            cpu_s=cpu_s,
        )

    def __enter__(self) -> ServiceProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def wait_ready(self, timeout_s: float) -> tuple[int | None, int | None]:
        """Start the service and wait for the runner's READY, sent once ``service.start()``
        has returned; (resident memory before service.py was imported, and after start())."""
        deadline = time.monotonic() + timeout_s
        line = self.process.read_line(deadline, max_bytes=MAX_LINE_BYTES)
        if line != "BOOTED":
            raise LearnerProcessError(f"sent {line[:200]!r} before service.py was imported")
        # The runner waits for !start, so this is the bare interpreter's memory.
        booted_kib = self.rss_kib()
        self.process.send_line("!start", timeout_s=max(0.1, deadline - time.monotonic()))
        line = self.process.read_line(deadline, max_bytes=MAX_LINE_BYTES)
        if line != "READY":
            raise LearnerProcessError(f"sent {line[:200]!r} where READY was due after start()")
        return booted_kib, self.rss_kib()

    def request(self, line: str, timeout_s: float) -> tuple[str, int]:
        """(answer, latency in ns from writing the request to reading the whole answer)."""
        deadline = time.monotonic() + timeout_s
        sent = time.perf_counter_ns()
        self.process.send_line(line, timeout_s=timeout_s)
        answer = self.process.read_line(deadline, max_bytes=MAX_LINE_BYTES)
        return answer, time.perf_counter_ns() - sent

    def rss_kib(self) -> int | None:
        """Resident memory from /proc, None once the service has exited."""
        return self.process.rss_kib()

    def close(self) -> None:
        """End the service and everything it started; remove its files. Safe twice."""
        self.process.close()
