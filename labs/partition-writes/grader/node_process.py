"""The learner's node.py as one of the simulator's nodes: `exchange(message) -> reply`.

The process itself is the harness's: `Grader.start_learner(..., isolated=True)` gives
each node a fresh uid of its own, the limits, a read-only copy of the submission and no
channel but its pipes, so the three nodes of a run can reach one another only through
the simulator (which is what partitions it). This module only turns the simulator's
calls into lines on those pipes and the harness's errors into the simulator's.
"""

from __future__ import annotations

import json
import time

from downstack_harness import Grader, LearnerProcess, LearnerProcessError, LearnerProcessTimeout
from simulate import MAX_LINE_BYTES, NodeError, parse_reply

NODE_MEMORY_MB = 160
NODE_CPU_S = 30
# Per node (each has its own uid): three of them stay well inside the container's pids.
NODE_PROCESSES = 16
# Python randomises string hashing per process; fixing it keeps set order, and so the
# whole run, the same every time (simulate.py does the same on the learner's machine).
NODE_ENV = {"PYTHONHASHSEED": "0"}


class NodeHung(NodeError):
    """The node stopped answering: waiting any longer would only burn the time limit."""


class LearnerNode:
    """One node process; `exchange` sends a message and waits (bounded) for the answer."""

    def __init__(self, grader: Grader, node_id: str, answer_within_s: float) -> None:
        self.node_id = node_id
        self.answer_within_s = answer_within_s
        try:
            self.process: LearnerProcess = grader.start_learner(
                ["python3", "node.py"],
                isolated=True,
                cpu_s=NODE_CPU_S,
                memory_mb=NODE_MEMORY_MB,
                processes=NODE_PROCESSES,
                extra_env=NODE_ENV,
            )
        except LearnerProcessError as error:
            raise NodeError(node_id, str(error)) from None

    def exchange(self, message: dict) -> dict:
        deadline = time.monotonic() + self.answer_within_s
        try:
            self.process.send_line(json.dumps(message), timeout_s=self.answer_within_s)
            line = self.process.read_line(deadline, max_bytes=MAX_LINE_BYTES)
        except LearnerProcessTimeout:
            raise NodeHung(
                self.node_id, f"did not answer a message within {self.answer_within_s:g} s"
            ) from None
        except LearnerProcessError as error:
            raise NodeError(self.node_id, str(error)) from None
        return parse_reply(self.node_id, line)

    def stderr_tail(self) -> str:
        """The end of its stderr, as the harness keeps it for messages."""
        return self.process.stderr_tail(6)

    def close(self) -> None:
        self.process.close()
