"""What one grading run means: a score, a stop that is the learner's, or a grader error.

A RunResult holds the sandbox's facts. Every reader that needs the verdict (the platform
storing a submission or a regrade, `labs check`, `labs grade`) takes it from Outcome.of,
so the three kinds are told apart in this one place:

- GRADED: the checker wrote valid results; their score stands.
- STOPPED: the learner's program ran past a limit (time, memory, output) before the
  checker could finish. That is a verdict on the learner's code, with the reason, never
  a staff alert. Its score is 0, except at a time-out of a checker that declared its
  checks (Grader.expect): then the checks it made before the deadline stand and are
  scored, and the declared ones it did not make are shown as not run, out of the
  declared total (unless the lab opts out with ``partial_on_timeout = false``).
- ERROR: the checker or the platform failed. There is no score, staff are alerted and
  the attempt is not counted.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from graders.results import Results, TestOutcome
from graders.sandbox import RunResult

GRADER_ERROR_DETAIL = (
    "The grader failed on this submission, so it has no score. "
    "Staff have been alerted; this does not count as an attempt."
)
# The order and names of a check's fields wherever one is stored or shown.
TEST_FIELDS = (
    "name",
    "score",
    "max_score",
    "status",
    "output",
    "visibility",
    "tags",
    "output_format",
    "name_format",
)
# The tag of the checks a time-out left unmade, as they are stored and shown.
NOT_RUN_TAG = "not-run"


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
    feedback_format: str = "md"  # how ``feedback`` is written (graders.results.FORMATS)
    # What a Gradescope autograder's results add (see results_extras); empty otherwise.
    extras: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, result: RunResult, *, partial_on_timeout: bool = True) -> Outcome:
        if result.results is not None and result.timed_out:
            return cls._stopped_with_results(result, partial_on_timeout)
        if result.results is not None:
            return cls(
                kind=Kind.GRADED,
                score=result.results.score,
                max_score=result.results.max_score,
                feedback=result.results.output,
                detail="",
                error=None,
                tests=result.results.tests,
                feedback_format=result.results.output_format,
                extras=results_extras(result.results),
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
        reason = result.failure_reason() or "Grading stopped before a result."
        if result.timed_out and partial_on_timeout and result.expected:
            return cls._partial(result, reason)
        return cls(
            kind=Kind.STOPPED,
            score=0.0,
            max_score=None,
            feedback="",
            detail=reason,
            error=None,
            tests=(),
        )

    @classmethod
    def _stopped_with_results(cls, result: RunResult, partial_on_timeout: bool) -> Outcome:
        """A time-out after which the results written so far came back (an entry program
        that enforces the limit itself): they are scored, unless the lab opts out."""
        assert result.results is not None
        reason = result.failure_reason_of_stop()
        if not partial_on_timeout:
            return cls(Kind.STOPPED, 0.0, None, "", reason, None, ())
        return cls(
            kind=Kind.STOPPED,
            score=result.results.score,
            max_score=result.results.max_score,
            feedback=result.results.output,
            detail=f"{reason} The results written before then are scored.",
            error=None,
            tests=result.results.tests,
            feedback_format=result.results.output_format,
            extras=results_extras(result.results),
        )

    @classmethod
    def _partial(cls, result: RunResult, reason: str) -> Outcome:
        """A time-out's outcome: the checks streamed before it, then the declared ones
        not made, each worth nothing of its points."""
        limit = f"{result.limits.timeout_s:g} s"
        made = {test.name for test in result.streamed}
        missing = [check for check in result.expected if check.name not in made]
        running = next((check for check in missing if check.name == result.running), None)
        not_run = tuple(
            TestOutcome(
                name=check.name,
                score=0.0,
                max_score=check.max_score,
                status="failed",
                output=(
                    f"Running when the time limit of {limit} was reached; not finished."
                    if check is running
                    else f"Not run: the time limit of {limit} was reached before this check."
                ),
                visibility=check.visibility,
                tags=(NOT_RUN_TAG,),
            )
            for check in missing
        )
        tests = (*result.streamed, *not_run)
        detail = f"{reason} The checks finished before then are scored"
        if running is not None:
            shown = "a hidden check" if running.visibility != "visible" else f"“{running.name}”"
            detail += f"; {shown} was running when time ran out"
        if missing:
            detail += f"; {len(missing)} did not finish"
        return cls(
            kind=Kind.STOPPED,
            score=sum(test.score for test in tests),
            max_score=sum(test.max_score for test in tests),
            feedback="",
            detail=detail + ".",
            error=None,
            tests=tests,
        )

    @property
    def is_grader_error(self) -> bool:
        return self.kind is Kind.ERROR

    def test_rows(self) -> list[dict]:
        """The checks as plain rows (TEST_FIELDS), as they are stored and serialized."""
        return test_rows(self.tests)


def results_extras(results: Results) -> dict[str, Any]:
    """What a results document says beyond its score, checks and summary, as stored: who
    may read the autograder's own output, its data for staff and its leaderboard row.
    Only what differs from the defaults is there, so a Downstack checker's is empty."""
    extras: dict[str, Any] = {}
    if results.stdout_visibility != "hidden":
        extras["stdout_visibility"] = results.stdout_visibility
    if results.extra_data is not None:
        extras["extra_data"] = dict(results.extra_data)
    if results.leaderboard:
        extras["leaderboard"] = [
            {"name": e.name, "value": e.value, "order": e.order} for e in results.leaderboard
        ]
    return extras


def test_rows(tests: Sequence[TestOutcome]) -> list[dict]:
    """Checks as plain rows (TEST_FIELDS), as they are stored and serialized."""
    return [
        {name: list(t.tags) if name == "tags" else getattr(t, name) for name in TEST_FIELDS}
        for t in tests
    ]
