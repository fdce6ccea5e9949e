"""Gradebook CSV and results JSON, produced row by row for StreamingHttpResponse.

Both read submissions through `.iterator(chunk_size=...)` in an order that lets each
learner's row be finished before the next begins, so a large cohort is never held in
memory at once.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator

from cohorts.dashboard import Cell, cells_of, cohort_submissions
from cohorts.models import Cohort, Membership, Standing
from grading.models import Submission, score_percent

CHUNK = 2000
# A spreadsheet runs a cell that starts with one of these as a formula (=cmd|...).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class _Echo:
    """csv.writer wants a file; this one hands each formatted line straight back."""

    def write(self, value: str) -> str:
        return value


def csv_text(value: str) -> str:
    """A text cell that a spreadsheet shows as text: a leading quote stops a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _learners(cohort: Cohort):
    return (
        Membership.objects.filter(cohort=cohort, role=Membership.Role.LEARNER)
        .order_by("user__username", "user_id")
        .values_list("user_id", "user__username")
        .iterator(chunk_size=CHUNK)
    )


def gradebook_lines(cohort: Cohort) -> Iterator[str]:
    """CSV lines: a header, then one row per learner with a column per assigned lab (the
    counted score, as the dashboard shows it) and a last column saying, per lab, what the
    late policy did to that learner's work."""
    writer = csv.writer(_Echo())
    assignments = list(cohort.assignments.select_related("lab"))
    column = {a.pk: i for i, a in enumerate(assignments)}
    # Lab slugs start with a letter or digit (catalog.labfiles), so only names need care.
    yield writer.writerow(["learner", *(f"{a.lab.slug} (%)" for a in assignments), "late work"])
    standings = cells_of(
        Standing.objects.filter(assignment_id__in=list(column)).order_by(
            "user__username", "user_id"
        ),
        cohort.score_policy,
    )
    pending = next(standings, None)
    for user_id, username in _learners(cohort):
        cells = [Cell() for _ in assignments]
        while pending is not None and pending[0] == user_id:
            cells[column[pending[1]]] = pending[2]
            pending = next(standings, None)
        notes = [
            f"{a.lab.slug}: {note}"
            for a, cell in zip(assignments, cells, strict=True)
            for _, note in cell.marks
        ]
        yield writer.writerow(
            [
                csv_text(username),
                *("" if c.best is None else f"{c.best:.2f}" for c in cells),
                "; ".join(notes),
            ]
        )


def results_json_chunks(cohort: Cohort) -> Iterator[str]:
    """One JSON document with every counted submission of the cohort and its checks."""
    assignments = {a.lab_id: a for a in cohort.assignments.select_related("lab")}
    yield (
        json.dumps(
            {
                "cohort": cohort.name,
                "score_policy": cohort.score_policy,
                "labs": [
                    {
                        "slug": a.lab.slug,
                        "opens_at": a.opens_at.isoformat(),
                        "due_at": a.due_at.isoformat(),
                        "late_policy": a.late_policy,
                        "penalty_per_day": a.penalty_per_day,
                    }
                    for a in assignments.values()
                ],
            }
        )[:-1]
        + ', "results": ['
    )
    submissions = (
        cohort_submissions(cohort, list(assignments))
        .select_related("user", "lab")
        .prefetch_related("tests")
        .order_by("user__username", "created_at")
        .iterator(chunk_size=CHUNK)
    )
    for i, s in enumerate(submissions):
        assignment = assignments[s.lab_id]
        percent = score_percent(s.score, s.max_score, s.status == Submission.Status.GRADED)
        # How the attempt counts, by the rule of the gradebook and the dashboard.
        count = assignment.attempt_count(percent, s.created_at)
        record = {
            "learner": s.user.username,
            "lab": s.lab.slug,
            "submission": str(s.pk),
            "submitted_at": s.created_at.isoformat(),
            "status": s.status,
            "score": s.score,
            "max_score": s.max_score,
            "percent": percent,
            "days_late": count.days_late,
            "counted": count.counted is not None,
            "counted_percent": count.counted,
            "late_work": count.note,
            "tests": [
                {
                    "name": t.name,
                    "status": t.status,
                    "score": t.score,
                    "max_score": t.max_score,
                    "visibility": t.visibility,
                    "output": t.output,
                }
                for t in s.tests.all()
            ],
        }
        yield ("," if i else "") + json.dumps(record)
    yield "]}"
