"""The learner's scheduler.py as the simulator's scheduler: `ask` sends one message and
waits (bounded) for its one-line answer.

The process is the harness's: `Grader.start_learner(..., isolated=True)` runs it under a
fresh uid of its own, with limits, from a read-only copy of the submission and with no
channel but its pipes. It sees only what the messages tell it; every binding it answers
is checked by the simulator in this process before anything changes.
"""

from __future__ import annotations

import json
import time

from cluster import MAX_LINE_BYTES, SchedulerError, parse_line
from downstack_harness import Grader, LearnerProcess, LearnerProcessError, LearnerProcessTimeout

SCHEDULER_MEMORY_MB = 200
SCHEDULER_CPU_S = 60
SCHEDULER_PROCESSES = 16
# Python randomises string hashing per process; fixing it keeps set order, and so the
# whole run, the same every time (simulate.py does the same on the learner's machine).
SCHEDULER_ENV = {"PYTHONHASHSEED": "0"}


class SchedulerHung(SchedulerError):
    """It stopped answering: waiting any longer would only burn the time limit."""


class LearnerScheduler:
    def __init__(self, grader: Grader, answer_within_s: float, stop_at: float) -> None:
        self.answer_within_s = answer_within_s
        self.stop_at = stop_at  # time.monotonic() past which the run is given up
        try:
            self.process: LearnerProcess = grader.start_learner(
                ["python3", "scheduler.py"],
                isolated=True,
                cpu_s=SCHEDULER_CPU_S,
                memory_mb=SCHEDULER_MEMORY_MB,
                processes=SCHEDULER_PROCESSES,
                extra_env=SCHEDULER_ENV,
            )
        except LearnerProcessError as error:
            raise SchedulerError(str(error)) from None

    def ask(self, message: dict) -> object:
        if time.monotonic() > self.stop_at:
            raise SchedulerHung("used up the time all the runs together may take")
        deadline = time.monotonic() + self.answer_within_s
        try:
            self.process.send_line(json.dumps(message), timeout_s=self.answer_within_s)
            line = self.process.read_line(deadline, max_bytes=MAX_LINE_BYTES)
        except LearnerProcessTimeout:
            raise SchedulerHung(
                f"did not answer a {message['type']} message within {self.answer_within_s:g} s"
            ) from None
        except LearnerProcessError as error:
            raise SchedulerError(str(error)) from None
        return parse_line(line)

    def stderr_tail(self) -> str:
        return self.process.stderr_tail(6)

    def close(self) -> None:
        self.process.close()
