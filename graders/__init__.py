"""The sandbox that runs lab checkers over submissions, and the contracts around it.

    from graders import run, Limits, image_tag
    outcome = run(image=image_tag(), checker={...}, submission={...}, limits=Limits(timeout_s=10))

A plain library: it takes files and limits and returns a frozen result. It never imports
Django and knows nothing of users, labs or the database.
"""

from graders.images import image_tag
from graders.limits import Limits
from graders.marks import FULL_MARKS_TOLERANCE, full_marks_floor, is_full_marks, score_tolerance
from graders.outcome import NOT_RUN_TAG, TEST_FIELDS, Kind, Outcome, results_extras, test_rows
from graders.results import Progress, Results, ResultsError, TestOutcome, parse_results
from graders.sandbox import (
    NATIVE,
    Dialect,
    InfrastructureError,
    RunResult,
    engine_problem,
    remove_leftovers,
    run,
)

__all__ = [
    "Dialect",
    "FULL_MARKS_TOLERANCE",
    "InfrastructureError",
    "Kind",
    "Limits",
    "NATIVE",
    "NOT_RUN_TAG",
    "Outcome",
    "Progress",
    "Results",
    "ResultsError",
    "RunResult",
    "TEST_FIELDS",
    "TestOutcome",
    "engine_problem",
    "full_marks_floor",
    "image_tag",
    "is_full_marks",
    "parse_results",
    "remove_leftovers",
    "results_extras",
    "run",
    "score_tolerance",
    "test_rows",
]
