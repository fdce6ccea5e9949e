"""Full marks is one rule: a score a rounding error short of the maximum reads the same in
the results contract, a submission, a learner's progress, the catalog and a cohort."""

import json
import math

import pytest

from catalog.marks import full_marks_q
from catalog.models import Lab
from cohorts.dashboard import dashboard_build
from graders import full_marks_floor, is_full_marks, parse_results
from grading.models import LabProgress, Submission
from grading.progress import labs_with_progress

# A conftest serves only its own folder, and this test spans every layer: the cohort
# fixtures are imported, and named in __all__ so they read as used.
from tests.cohorts.conftest import assign, cohort, graded_submission, instructor, plain_lab

__all__ = ["assign", "cohort", "graded_submission", "instructor", "plain_lab"]

MAX = 10.0


@pytest.mark.parametrize(
    ("score", "full"),
    [(MAX, True), (MAX - 1e-7, True), (MAX - 1e-3, False)],
    ids=["exact", "a-hair-below", "a-thousandth-below"],
)
def test_a_score_reads_the_same_everywhere(
    score, full, learner, cohort, assign, graded_submission, plain_lab
):
    assert is_full_marks(score, MAX) is full

    document = {"score": score, "max_score": MAX, "tests": [{"score": score, "max_score": MAX}]}
    results = parse_results(json.dumps(document), max_bytes=10_000)
    assert results.score == score
    assert results.tests[0].status == ("passed" if full else "failed")

    lab = plain_lab("marks")
    assign(cohort, lab)
    submission = graded_submission(learner, lab, score, max_score=MAX)
    assert submission.passed() is full

    progress = LabProgress.objects.get(user=learner, lab=lab)
    assert (progress.first_pass_at is not None) is full
    assert progress.attempts_to_pass == (1 if full else None)

    assert labs_with_progress(Lab.objects.all(), learner).get(pk=lab.pk).my_passed is full

    board = dashboard_build(cohort)
    (row,) = board.page.rows
    assert row.cells[0].passed is full
    assert board.labs[0].passed == (1 if full else 0)


def _edges(maximum):
    floor = full_marks_floor(maximum)
    return [maximum, floor, math.nextafter(floor, -math.inf), 0.0]


@pytest.mark.parametrize("maximum", [0.1 + 0.2, 0.5, 1.0, MAX, 1e6])
def test_the_database_draws_the_line_where_python_does(maximum, learner, plain_lab):
    lab = plain_lab("edges")
    for score in _edges(maximum):
        Submission.objects.create(
            user=learner,
            lab=lab,
            status=Submission.Status.GRADED,
            score=score,
            max_score=maximum,
        )
    in_sql = sorted(Submission.objects.filter(full_marks_q()).values_list("score", flat=True))
    in_python = sorted(s for s in _edges(maximum) if is_full_marks(s, maximum))
    assert in_sql == in_python
    assert len(in_python) == 2  # the maximum and the floor, not a hair below the floor


@pytest.mark.parametrize("maximum", [0.0, None])
def test_no_positive_maximum_is_never_full_marks(maximum, learner, plain_lab):
    lab = plain_lab("no-maximum")
    submission = Submission.objects.create(
        user=learner, lab=lab, status=Submission.Status.GRADED, score=0.0, max_score=maximum
    )
    assert not submission.passed()
    assert not Submission.objects.filter(full_marks_q()).exists()
    assert not labs_with_progress(Lab.objects.all(), learner).get(pk=lab.pk).my_passed
