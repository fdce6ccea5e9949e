"""The learner's policy.py as one of the simulator's two policies: `post`, then `reply`.

The processes are the harness's: `Grader.start_learner(..., isolated=True)` gives each
role (client library, backend) a fresh uid of its own, the limits, a read-only copy of
the submission and no channel but its pipes, so the client cannot see the backend's
queue nor the backend the client's plans: they meet only through the simulator. This
module turns the simulator's calls into lines on those pipes, and the harness's errors
into the simulator's.
"""

from __future__ import annotations

import json
import time

from downstack_harness import Grader, LearnerProcess, LearnerProcessError, LearnerProcessTimeout
from simulate import MAX_LINE_BYTES, PolicyError, parse_reply

POLICY_MEMORY_MB = 160
POLICY_CPU_S = 60
POLICY_PROCESSES = 16
# Python randomises string hashing per process; fixing it keeps set order, and so the
# whole run, the same every time (simulate.py does the same on the learner's machine).
POLICY_ENV = {"PYTHONHASHSEED": "0"}


class PolicyHung(PolicyError):
    """The policy stopped answering: waiting any longer would only burn the time limit."""


class LearnerPolicy:
    """One role's process; `post` sends a tick, `reply` waits (bounded) for its answer."""

    def __init__(self, grader: Grader, role: str, answer_within_s: float) -> None:
        self.role = role
        self.answer_within_s = answer_within_s
        self.deadline = 0.0
        try:
            self.process: LearnerProcess = grader.start_learner(
                ["python3", "policy.py"],
                isolated=True,
                cpu_s=POLICY_CPU_S,
                memory_mb=POLICY_MEMORY_MB,
                processes=POLICY_PROCESSES,
                extra_env=POLICY_ENV,
            )
        except LearnerProcessError as error:
            raise PolicyError(role, str(error)) from None

    def post(self, message: dict) -> None:
        self.deadline = time.monotonic() + self.answer_within_s
        try:
            self.process.send_line(json.dumps(message), timeout_s=self.answer_within_s)
        except LearnerProcessTimeout:
            raise PolicyHung(self.role, "stopped reading its input") from None
        except LearnerProcessError as error:
            raise PolicyError(self.role, str(error)) from None

    def reply(self) -> dict:
        try:
            line = self.process.read_line(self.deadline, max_bytes=MAX_LINE_BYTES)
        except LearnerProcessTimeout:
            raise PolicyHung(
                self.role, f"did not answer a tick within {self.answer_within_s:g} s"
            ) from None
        except LearnerProcessError as error:
            raise PolicyError(self.role, str(error)) from None
        return parse_reply(self.role, line)

    def stderr_tail(self) -> str:
        """The end of its stderr, as the harness keeps it for messages."""
        return self.process.stderr_tail(6)

    def close(self) -> None:
        self.process.close()
