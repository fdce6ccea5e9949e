"""What one grading run means: a score, a stop that is the learner's, or a grader error.

A RunResult holds the sandbox's facts. Every reader that needs the verdict (the platform
storing a submission or a regrade, `labs check`, `labs grade`) takes it from Outcome.of,
so the three kinds are told apart in this one place:

- GRADED: the checker wrote valid results; their score stands.
- STOPPED: the learner's program ran past a limit (time, memory, output) before the
  checker could finish. That is a verdict on the learner's code: a score of 0 with the
  reason, never a staff alert.
- ERROR: the checker or the platform failed. There is no score, staff are alerted and
  the attempt is not counted.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from graders.results import TestOutcome
from graders.sandbox import RunResult

GRADER_ERROR_DETAIL = (
    "The grader failed on this submission, so it has no score. "
    "Staff have been alerted; this does not count as an attempt."
)
# The order and names of a check's fields wherever one is stored or shown.
TEST_FIELDS = ("name", "score", "max_score", "status", "output", "visibility", "tags")


class Kind(enum.Enum):
    GRADED = "graded"
    STOPPED = "stopped"
    ERROR = "error"


@dataclass(frozen=True)
class Outcome:
    """The verdict of one run, as the learner and staff are told it."""

    kind: Kind
    score: float | None  # None only for a grader error
    max_score: float | None  # None without results (a stop or an error)
    feedback: str  # the checker's summary (markdown), empty without results
    detail: str  # why there is no result, for the learner; empty with one
    error: str | None  # the grader error for staff; None unless kind is ERROR
    tests: tuple[TestOutcome, ...]

    @classmethod
    def of(cls, result: RunResult) -> Outcome:
        if result.results is not None:
            return cls(
                kind=Kind.GRADED,
                score=result.results.score,
                max_score=result.results.max_score,
                feedback=result.results.output,
                detail="",
                error=None,
                tests=result.results.tests,
            )
        if result.error:
            return cls(
                kind=Kind.ERROR,
                score=None,
                max_score=None,
                feedback="",
                detail=GRADER_ERROR_DETAIL,
                error=result.error,
                tests=(),
            )
        return cls(
            kind=Kind.STOPPED,
            score=0.0,
            max_score=None,
            feedback="",
            detail=result.failure_reason() or "Grading stopped before a result.",
            error=None,
            tests=(),
        )

    @property
    def is_grader_error(self) -> bool:
        return self.kind is Kind.ERROR

    def test_rows(self) -> list[dict]:
        """The checks as plain rows (TEST_FIELDS), as they are stored and serialized."""
        return [
            {name: list(t.tags) if name == "tags" else getattr(t, name) for name in TEST_FIELDS}
            for t in self.tests
        ]
