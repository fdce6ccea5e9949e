"""What a run means (graders.Outcome), a time-out's partial credit above all: built from
RunResults as the sandbox returns them, so no Docker is needed."""

import pytest

import graders
from graders.results import Expected
from tests.sandboxes import run_result


def result(**facts) -> graders.RunResult:
    """A run the 30 s deadline stopped, with ``facts``."""
    stopped = dict(exit_code=None, duration_s=30.0, timed_out=True, limits=graders.Limits(30))
    return run_result(**{**stopped, **facts})


def made(name: str, score: float, max_score: float, visibility: str = "visible"):
    status = "passed" if score == max_score else "failed"
    return graders.TestOutcome(name, score, max_score, status, "out", visibility, ())


PLAN = (
    Expected("compiles", 1, "visible"),
    Expected("case 1", 2, "visible"),
    Expected("case 2", 2, "visible"),
    Expected("hidden case", 5, "hidden"),
)


def test_a_time_out_scores_the_checks_made_before_it_out_of_the_declared_total() -> None:
    outcome = graders.Outcome.of(
        result(
            streamed=(made("compiles", 1, 1), made("case 1", 1.5, 2)),
            running="case 2",
            expected=PLAN,
        )
    )
    assert outcome.kind is graders.Kind.STOPPED and not outcome.is_grader_error
    assert (outcome.score, outcome.max_score) == (2.5, 10)
    assert [(t.name, t.score, t.max_score, t.tags) for t in outcome.tests] == [
        ("compiles", 1, 1, ()),
        ("case 1", 1.5, 2, ()),
        ("case 2", 0, 2, (graders.NOT_RUN_TAG,)),
        ("hidden case", 0, 5, (graders.NOT_RUN_TAG,)),
    ]
    assert outcome.tests[2].output == (
        "Running when the time limit of 30 s was reached; not finished."
    )
    assert outcome.tests[3].output == (
        "Not run: the time limit of 30 s was reached before this check."
    )
    assert outcome.tests[3].visibility == "hidden"
    assert outcome.detail == (
        "Grading stopped after 30 s: your program ran past the time limit. The checks "
        "finished before then are scored; “case 2” was running when time ran out; 2 did "
        "not finish."
    )


def test_a_hidden_check_running_at_the_time_out_is_not_named() -> None:
    outcome = graders.Outcome.of(
        result(
            streamed=(made("compiles", 1, 1),), running="hidden case", expected=PLAN[:1] + PLAN[3:]
        )
    )
    assert "a hidden check was running when time ran out" in outcome.detail
    assert "hidden case" not in outcome.detail


@pytest.mark.parametrize(
    "facts",
    [
        {"expected": ()},  # nothing declared: the total is unknown
        {"timed_out": False, "oom_killed": True, "expected": PLAN},  # not a time-out
    ],
)
def test_without_a_declared_total_or_a_time_out_a_stop_scores_nothing(facts) -> None:
    outcome = graders.Outcome.of(result(streamed=(made("compiles", 1, 1),), **facts))
    assert (outcome.score, outcome.max_score, outcome.tests) == (0, None, ())


def test_a_lab_may_opt_out_of_partial_credit() -> None:
    run = result(streamed=(made("compiles", 1, 1),), expected=PLAN)
    outcome = graders.Outcome.of(run, partial_on_timeout=False)
    assert (outcome.score, outcome.max_score, outcome.tests) == (0, None, ())
    assert outcome.detail == "Grading stopped after 30 s: your program ran past the time limit."


def test_every_declared_check_made_leaves_nothing_not_run() -> None:
    streamed = (made("compiles", 1, 1), made("case 1", 2, 2), made("case 2", 0, 2))
    outcome = graders.Outcome.of(result(streamed=streamed, expected=PLAN[:3]))
    assert (outcome.score, outcome.max_score) == (3, 5)
    assert outcome.tests == streamed
    assert outcome.detail.endswith("The checks finished before then are scored.")
