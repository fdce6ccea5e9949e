"""The numbers behind a cohort's dashboard, in a fixed number of queries.

Every figure is computed from a handful of grouped queries (per learner and lab, per
lab and check, per day), so the query count does not grow with learners or submissions;
the per-learner work left in Python is a few dictionaries over learners × labs.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db.models import (
    Count,
    Max,
    Q,
)
from django.db.models.functions import TruncDate
from django.utils import timezone

from cohorts.models import Assignment, Cohort, Membership
from grading.models import LabProgress, Submission, TestResult

# "Many attempts without progress": this many attempts at a lab, still not passed.
STUCK_ATTEMPTS = 8
# "Behind": this many labs past their due date and not passed (one alone is common).
BEHIND_DUE_LABS = 2
ACTIVITY_DAYS = 28


@dataclass
class Cell:
    """One learner's work on one lab."""

    attempts: int = 0
    best: float | None = None  # percent of full marks
    passed: bool = False
    attempts_to_pass: int | None = None
    hours_to_pass: float | None = None  # from first opening the lab to the first pass


@dataclass
class LearnerRow:
    user_id: int
    username: str
    joined_at: datetime
    cells: list[Cell]
    last_active: datetime | None = None
    risks: list[str] = field(default_factory=list)
    skills: dict[str, float] = field(default_factory=dict)

    @property
    def mean_best(self) -> float:
        return sum(c.best or 0.0 for c in self.cells) / len(self.cells) if self.cells else 0.0


@dataclass
class LabStats:
    assignment: Assignment
    learners: int
    attempted: int
    passed: int
    median_attempts_to_pass: float | None
    median_hours_to_pass: float | None
    histogram: list[int]  # learners per best-score decile, 0-10% ... 90-100%
    failing_checks: list[dict]

    @property
    def lab(self):
        return self.assignment.lab

    @property
    def pass_rate(self) -> float | None:
        return 100.0 * self.passed / self.learners if self.learners else None


@dataclass
class Dashboard:
    cohort: Cohort
    assignments: list[Assignment]
    learners: list[LearnerRow]
    labs: list[LabStats]
    activity: list[tuple]  # (date, submissions)
    skills: list[str]
    cohort_skills: dict[str, float]


def _learner_ids(cohort: Cohort, user_ids=None):
    """The cohort's learners (optionally only some of them), as a subquery of user ids."""
    learners = Membership.objects.filter(cohort=cohort, role=Membership.Role.LEARNER)
    if user_ids is not None:
        learners = learners.filter(user_id__in=user_ids)
    return learners.values("user_id")


def cohort_submissions(cohort: Cohort, lab_ids):
    """The cohort's learners' counted attempts (grader errors never count) at its labs."""
    return Submission.objects.filter(user_id__in=_learner_ids(cohort), lab_id__in=lab_ids).exclude(
        status=Submission.Status.ERROR
    )


def _progress(cohort: Cohort, lab_ids, user_ids=None):
    """The cohort's learners' LabProgress rows at these labs."""
    learners = _learner_ids(cohort, user_ids)
    return LabProgress.objects.filter(user_id__in=learners, lab_id__in=lab_ids)


def learner_cells(cohort: Cohort, assignments: list[Assignment], user_ids=None) -> dict:
    """{(user_id, lab_id): Cell}: one query, one row per learner and lab, whatever the
    number of submissions, and no timestamps to decode (the grading write path keeps the
    time to first pass on the row)."""
    rows = _progress(cohort, [a.lab_id for a in assignments], user_ids).values_list(
        "user_id", "lab_id", "attempts", "best_percent", "attempts_to_pass", "hours_to_pass"
    )
    # attempts_to_pass is set together with the first pass, and only then.
    return {
        (user_id, lab_id): Cell(attempts, best, to_pass is not None, to_pass, hours)
        for user_id, lab_id, attempts, best, to_pass, hours in rows
    }


def last_activity(cohort: Cohort, lab_ids) -> dict[int, datetime]:
    """{user_id: their latest graded attempt at any of the labs}, one row per learner."""
    rows = _progress(cohort, lab_ids).values("user_id").annotate(last=Max("last_at"))
    return {row["user_id"]: row["last"] for row in rows if row["last"]}


def skill_columns(assignments: list[Assignment]) -> dict[str, list[int]]:
    """{skill: the positions of the assignments whose lab carries it}, by skill name."""
    columns: dict[str, list[int]] = defaultdict(list)
    for i, assignment in enumerate(assignments):
        for skill in assignment.lab.skills:
            columns[skill].append(i)
    return dict(sorted(columns.items()))


def skill_mastery(columns: dict[str, list[int]], cells: list[Cell]) -> dict[str, float]:
    """Per skill, the mean best score (percent) over the labs that carry it; unattempted
    labs count as 0, so mastery means done, not merely tried."""
    return {
        skill: sum(cells[i].best or 0.0 for i in where) / len(where)
        for skill, where in columns.items()
    }


def risk_reasons(row: LearnerRow, assignments: list[Assignment], *, now, inactive_days: int):
    reasons = []
    last = row.last_active
    quiet_since = last or row.joined_at
    if now - quiet_since > timedelta(days=inactive_days):
        days = (now - quiet_since).days
        reasons.append(
            f"inactive for {days} days" if last else f"no submission in {days} days since joining"
        )
    for assignment, cell in zip(assignments, row.cells, strict=True):
        if cell.attempts >= STUCK_ATTEMPTS and not cell.passed:
            reasons.append(
                f"{cell.attempts} attempts at {assignment.lab.title} without passing"
                f" (best {cell.best or 0:.0f}%)"
            )
    overdue = [
        a.lab.title
        for a, c in zip(assignments, row.cells, strict=True)
        if not c.passed and a.is_past_due(now)
    ]
    if len(overdue) >= BEHIND_DUE_LABS:
        reasons.append(f"behind on {len(overdue)} due labs: {', '.join(overdue)}")
    return reasons


def failing_checks(cohort: Cohort, lab_ids) -> dict[int, list[dict]]:
    """Per lab, the checks that fail most often in each learner's latest graded attempt
    (what is blocking people now, not what they fixed long ago)."""
    latest = _progress(cohort, lab_ids).values("latest_graded_id")
    rows = (
        TestResult.objects.filter(submission_id__in=latest)
        .values("submission__lab_id", "name", "visibility")
        .annotate(total=Count("pk"), failed=Count("pk", filter=~Q(status="passed")))
        .filter(failed__gt=0)
        .order_by("submission__lab_id", "-failed", "name")
    )
    by_lab: dict[int, list[dict]] = defaultdict(list)
    for row in rows:
        found = by_lab[row["submission__lab_id"]]
        if len(found) < 5:
            found.append(
                {
                    "name": row["name"],
                    "visibility": row["visibility"],
                    "failed": row["failed"],
                    "total": row["total"],
                    "percent": 100.0 * row["failed"] / row["total"],
                }
            )
    return by_lab


class UTCDate(TruncDate):
    """A timestamp's calendar day in UTC. SQLite keeps Django's timestamps as UTC text, so
    there the day is the text's first ten characters: read in SQL per row, several times
    faster than Django's own date function for SQLite, which runs in Python."""

    def __init__(self, expression, **extra):
        super().__init__(expression, tzinfo=UTC, **extra)

    def as_sqlite(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.lhs)
        return f"substr({sql}, 1, 10)", params


def activity(cohort: Cohort, lab_ids, *, now, days: int = ACTIVITY_DAYS) -> list[tuple]:
    """Submissions per day (UTC) over the last `days` days, grouped by day in SQL; days
    without a submission count 0."""
    today = now.astimezone(UTC).date()
    first = today - timedelta(days=days - 1)
    start = datetime(first.year, first.month, first.day, tzinfo=UTC)
    counts = dict(
        cohort_submissions(cohort, lab_ids)
        .filter(created_at__gte=start)
        .annotate(day=UTCDate("created_at"))
        .values("day")
        .annotate(n=Count("pk"))
        .values_list("day", "n")
    )
    dates = [first + timedelta(days=i) for i in range(days)]
    return [(date, counts.get(date, 0)) for date in dates]


def median(values):
    return statistics.median(values) if values else None


def dashboard_build(cohort: Cohort, *, now=None) -> Dashboard:
    now = now or timezone.now()
    assignments = list(cohort.assignments.select_related("lab"))
    lab_ids = [a.lab_id for a in assignments]
    members = Membership.objects.filter(cohort=cohort, role=Membership.Role.LEARNER).order_by(
        "user__username"
    )
    cells = learner_cells(cohort, assignments)
    last_active = last_activity(cohort, lab_ids)
    columns = skill_columns(assignments)
    learners = []
    for user_id, username, joined_at in members.values_list(
        "user_id", "user__username", "joined_at"
    ):
        row_cells = [cells.get((user_id, lab_id)) or Cell() for lab_id in lab_ids]
        row = LearnerRow(user_id, username, joined_at, row_cells, last_active.get(user_id))
        row.risks = risk_reasons(row, assignments, now=now, inactive_days=cohort.inactive_days)
        row.skills = skill_mastery(columns, row_cells)
        learners.append(row)
    failing = failing_checks(cohort, lab_ids)
    labs = []
    for i, assignment in enumerate(assignments):
        column = [row.cells[i] for row in learners]
        passed = [c for c in column if c.passed]
        hours = [c.hours_to_pass for c in passed if c.hours_to_pass is not None]
        histogram = [0] * 10
        for c in column:
            if c.best is not None:
                histogram[min(9, int(c.best // 10))] += 1
        labs.append(
            LabStats(
                assignment=assignment,
                learners=len(column),
                attempted=sum(1 for c in column if c.attempts),
                passed=len(passed),
                median_attempts_to_pass=median([c.attempts_to_pass for c in passed]),
                median_hours_to_pass=median(hours),
                histogram=histogram,
                failing_checks=failing.get(assignment.lab_id, []),
            )
        )
    skills = list(columns)
    cohort_skills = (
        {
            skill: sum(row.skills.get(skill, 0.0) for row in learners) / len(learners)
            for skill in skills
        }
        if learners
        else {}
    )
    return Dashboard(
        cohort=cohort,
        assignments=assignments,
        learners=learners,
        labs=labs,
        activity=activity(cohort, lab_ids, now=now),
        skills=skills,
        cohort_skills=cohort_skills,
    )


SORTS = ("name", "mean", "risk")


def sort_learners(rows: list[LearnerRow], sort: str, lab_ids: list[int]) -> list[LearnerRow]:
    """Sort the heatmap's rows: by name, by mean score, by risk, or by one lab (lab-<id>)."""
    if sort == "mean":
        return sorted(rows, key=lambda r: (-r.mean_best, r.username))
    if sort == "risk":
        return sorted(rows, key=lambda r: (-len(r.risks), r.mean_best, r.username))
    if sort.startswith("lab-") and sort[4:].isdigit() and int(sort[4:]) in lab_ids:
        i = lab_ids.index(int(sort[4:]))
        return sorted(rows, key=lambda r: (-(r.cells[i].best or -1), r.username))
    return rows
