"""threads.py as a learner process, asked one question at a time over its pipes.

The process is the harness's: `Grader.start_learner(..., isolated=True)` runs it under a
uid of its own, from a read-only copy of a folder holding threads.py and a cache.py,
with no channel but its pipes. Nothing it says is taken on trust: it only names the next
operation of a thread, which the scheduler, in the checker, performs on the world it
owns. When cache.py makes the process exit, the next question starts a fresh one (the
answers so far are remembered by the scheduler); once it has hung, or its deadline has
passed, it is not asked again.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from downstack_harness import Grader, LearnerProcess, LearnerProcessError, LearnerProcessTimeout
from scheduler import HostError

ANSWER_WITHIN_S = 3.0  # per question: generous, only there to stop a process that hangs
HOST_MEMORY_MB = 128
HOST_CPU_S = 30
HOST_PROCESSES = 8
MAX_STARTS = 3  # a cache.py that exits at every question is not started forever
MAX_LINE_BYTES = 1 << 16


class ThreadsHost:
    """`ask(question) -> answer`, for scheduler.Threads."""

    def __init__(self, grader: Grader, folder: Path, deadline: float | None = None) -> None:
        self.grader = grader
        self.folder = folder
        self.deadline = deadline  # time.monotonic() past which no question is asked
        self.process: LearnerProcess | None = None
        self.starts = 0
        self.hung = ""  # why it will not be asked again

    def ask(self, question: dict) -> object:
        if not self.hung and self.deadline is not None and time.monotonic() > self.deadline:
            self.hung = "the time for asking your threads ran out"
        if self.hung:
            raise HostError(self.hung)
        process = self._process()
        deadline = time.monotonic() + ANSWER_WITHIN_S
        try:
            process.send_line(json.dumps(question), timeout_s=ANSWER_WITHIN_S)
            line = process.read_line(deadline, max_bytes=MAX_LINE_BYTES)
        except LearnerProcessTimeout:
            self.hung = f"threads.py did not answer within {ANSWER_WITHIN_S:g} s"
            tail = process.stderr_tail(6)
            raise HostError(
                self.hung + (f"; the end of its stderr:\n{tail}" if tail else "")
            ) from None
        except LearnerProcessError as error:
            self.close()
            raise HostError(f"threads.py {error}") from None
        try:
            return json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            return f"a line that is not JSON: {line[:200]!r}"

    def _process(self) -> LearnerProcess:
        if self.process is None:
            if self.starts >= MAX_STARTS:
                raise HostError(f"threads.py exited {MAX_STARTS} times; it is not started again")
            self.starts += 1
            try:
                self.process = self.grader.start_learner(
                    ["python3", "threads.py"],
                    isolated=True,
                    cpu_s=HOST_CPU_S,
                    memory_mb=HOST_MEMORY_MB,
                    processes=HOST_PROCESSES,
                    source=self.folder,
                )
            except LearnerProcessError as error:
                raise HostError(f"threads.py {error}") from None
        return self.process

    def close(self) -> None:
        if self.process is not None:
            self.process.close()
            self.process = None
