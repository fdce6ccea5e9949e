"""Gradebook CSV and results JSON, produced row by row for StreamingHttpResponse.

Both read submissions through `.iterator(chunk_size=...)` in an order that lets each
learner's row be finished before the next begins, so a large cohort is never held in
memory at once.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator

from cohorts.dashboard import cohort_submissions
from cohorts.models import Assignment, Cohort, Membership
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


def gradebook_score(assignment: Assignment, attempts: list[tuple], policy: str) -> float | None:
    """The counted percent for one learner and lab from (created_at, percent) attempts in
    time order: late penalties applied, then the best or the last counted attempt."""
    scored = [assignment.counted_percent(percent, created_at) for created_at, percent in attempts]
    counted = [c for c in scored if c is not None]
    if not counted:
        return None
    return counted[-1] if policy == Cohort.ScorePolicy.LAST else max(counted)


def _learners(cohort: Cohort):
    return (
        Membership.objects.filter(cohort=cohort, role=Membership.Role.LEARNER)
        .order_by("user__username", "user_id")
        .values_list("user_id", "user__username")
        .iterator(chunk_size=CHUNK)
    )


def gradebook_lines(cohort: Cohort) -> Iterator[str]:
    """CSV lines: a header, then one row per learner with a column per assigned lab."""
    writer = csv.writer(_Echo())
    assignments = list(cohort.assignments.select_related("lab"))
    column = {a.lab_id: i for i, a in enumerate(assignments)}
    # Lab slugs start with a letter or digit (catalog.labfiles), so only names need care.
    yield writer.writerow(["learner", *(f"{a.lab.slug} (%)" for a in assignments)])
    attempts = (
        cohort_submissions(cohort, list(column))
        .filter(status=Submission.Status.GRADED)
        .order_by("user__username", "user_id", "created_at")
        .values_list("user_id", "lab_id", "created_at", "score", "max_score")
        .iterator(chunk_size=CHUNK)
    )
    pending = next(attempts, None)
    for user_id, username in _learners(cohort):
        mine: list[list[tuple]] = [[] for _ in assignments]
        while pending is not None and pending[0] == user_id:
            _, lab_id, created_at, score, max_score = pending
            mine[column[lab_id]].append((created_at, score_percent(score, max_score)))
            pending = next(attempts, None)
        scores = [
            gradebook_score(a, mine[i], cohort.score_policy) for i, a in enumerate(assignments)
        ]
        yield writer.writerow(
            [csv_text(username), *("" if s is None else f"{s:.2f}" for s in scores)]
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
        record = {
            "learner": s.user.username,
            "lab": s.lab.slug,
            "submission": str(s.pk),
            "submitted_at": s.created_at.isoformat(),
            "status": s.status,
            "score": s.score,
            "max_score": s.max_score,
            "percent": percent,
            "days_late": assignment.days_late(s.created_at),
            "counted_percent": assignment.counted_percent(percent, s.created_at),
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
