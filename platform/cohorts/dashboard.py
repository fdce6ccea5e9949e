"""The numbers behind a cohort's dashboard, in a fixed number of queries.

Everything is read from the cohort's Standing rows (one per learner and assignment,
counted by cohorts.standing's rules, as the gradebook counts), and summed in SQL: the
per-lab figures, who is at risk, and the order of the heatmap's rows. Python touches
only one page of the heatmap and the learners it names, so a request costs about the
same for 50 learners as for 2,000. The two summaries that must read checks or
submissions (failing checks, activity) are computed at most once a minute per cohort.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.core.cache import cache
from django.db.models import Count, F, FloatField, Q, Sum, Value
from django.db.models.functions import Coalesce, Floor, Least, TruncDate
from django.utils import timezone

from cohorts.models import Assignment, Cohort, Membership, Standing
from grading.models import LabProgress, Submission, TestResult

ACTIVITY_DAYS = 28
PAGE_SIZE = 50
AT_RISK_SHOWN = 25
# How long the summaries that read checks and submissions are reused, in seconds.
SUMMARY_TTL_S = 60
SORTS = ("name", "mean", "risk")


# The Standing fields a Cell takes as they are (the counted score and its lateness
# depend on the cohort's score policy).
CELL_FIELDS = (
    "attempts",
    "passed",
    "passed_on_time",
    "late_attempts",
    "uncounted_attempts",
    "attempts_to_pass",
    "hours_to_pass",
    "last_at",
)


@dataclass
class Cell:
    """One learner's counted work on one lab (a Standing row under the cohort's policy)."""

    attempts: int = 0
    best: float | None = None  # percent of full marks, counted as the gradebook counts it
    passed: bool = False
    passed_on_time: bool = False
    days_late: int = 0  # of the attempt that counts
    late_attempts: int = 0
    uncounted_attempts: int = 0
    attempts_to_pass: int | None = None
    hours_to_pass: float | None = None  # from first opening the lab to the first pass
    last_at: datetime | None = None

    @property
    def late_note(self) -> str:
        """Why the counted score is below the graded one ('' when on time)."""
        if not self.days_late or self.best is None:
            return ""
        days = f"{self.days_late} day{'s' if self.days_late != 1 else ''}"
        return f"the counted attempt was {days} late, with the penalty taken"

    @property
    def uncounted_note(self) -> str:
        """Which attempts do not count at all ('' when all do)."""
        n = self.uncounted_attempts
        if not n:
            return ""
        return (
            f"{n} attempt{'s' if n != 1 else ''} after the lab closed at its due date: not counted"
        )

    @property
    def marks(self) -> list[tuple[str, str]]:
        """(a short mark, its reason) for what the late policy did here."""
        marks = [("late", self.late_note), ("not counted", self.uncounted_note)]
        return [(mark, note) for mark, note in marks if note]


@dataclass
class LearnerRow:
    user_id: int
    username: str
    joined_at: datetime
    cells: list[Cell]
    risks: list[str] = field(default_factory=list)

    @property
    def mean_best(self) -> float:
        return sum(c.best or 0.0 for c in self.cells) / len(self.cells) if self.cells else 0.0

    @property
    def last_active(self) -> datetime | None:
        return max((c.last_at for c in self.cells if c.last_at), default=None)


@dataclass
class LabStats:
    assignment: Assignment
    learners: int
    attempted: int
    passed: int
    late: int  # learners whose counted score was handed in late
    uncounted: int  # learners with attempts after the lab closed
    median_attempts_to_pass: float | None
    median_hours_to_pass: float | None
    histogram: list[int]  # learners per counted-score decile, 0-10% ... 90-100%
    mean_counted: float  # over all learners, unattempted counting 0
    failing_checks: list[dict] = field(default_factory=list)

    @property
    def lab(self):
        return self.assignment.lab

    @property
    def pass_rate(self) -> float | None:
        return 100.0 * self.passed / self.learners if self.learners else None

    @property
    def median_time_to_pass(self) -> str:
        """The median time to a first pass in words: minutes under an hour."""
        hours = self.median_hours_to_pass
        if hours is None:
            return "–"
        if hours < 1:
            return f"{max(1, round(hours * 60))} min"
        return f"{hours:.1f} h"


@dataclass
class Dashboard:
    cohort: Cohort
    assignments: list[Assignment]
    learner_count: int
    labs: list[LabStats]
    skills: list[str]
    cohort_skills: dict[str, float]
    at_risk_count: int
    at_risk: list[LearnerRow]  # the most at risk, AT_RISK_SHOWN at most
    page: HeatmapPage
    activity: list[tuple]  # (date, submissions)
    summaries_at: datetime  # when activity and failing checks were computed


@dataclass
class HeatmapPage:
    rows: list[LearnerRow]
    sort: str
    query: str
    number: int
    total: int  # learners matching the query

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))

    @property
    def first(self) -> int:
        return min(self.total, (self.number - 1) * PAGE_SIZE + 1)

    @property
    def last(self) -> int:
        return min(self.total, self.number * PAGE_SIZE)


def _learners(cohort: Cohort):
    return Membership.objects.filter(cohort=cohort, role=Membership.Role.LEARNER)


def cohort_submissions(cohort: Cohort, lab_ids):
    """The cohort's learners' counted attempts (grader errors never count) at its labs."""
    return Submission.objects.filter(
        user_id__in=_learners(cohort).values("user_id"), lab_id__in=lab_ids
    ).exclude(status=Submission.Status.ERROR)


def _counted(policy: str) -> str:
    return Standing.policy_fields(policy)[0]


def cells_of(standings, policy: str):
    """(user_id, assignment_id, Cell) for these Standing rows, read as plain values (not
    model instances: this runs for every row shown or exported)."""
    fields = [*Standing.policy_fields(policy), *CELL_FIELDS]
    rows = standings.values_list("user_id", "assignment_id", *fields)
    # A stream, so that an export of a large cohort never holds every row at once.
    for user_id, assignment_id, best, days_late, *rest in rows.iterator(chunk_size=2000):
        yield (
            user_id,
            assignment_id,
            Cell(best=best, days_late=days_late, **dict(zip(CELL_FIELDS, rest, strict=True))),
        )


def learner_rows(cohort: Cohort, assignments: list[Assignment], user_ids) -> list[LearnerRow]:
    """Rows with every cell for these learners (one query for the cells, one for the
    names), in the order of `user_ids`."""
    ids = list(user_ids)
    names = {
        user_id: (username, joined)
        for user_id, username, joined in _learners(cohort)
        .filter(user_id__in=ids)
        .values_list("user_id", "user__username", "joined_at")
    }
    position = {a.pk: i for i, a in enumerate(assignments)}
    cells: dict[int, list[Cell]] = {user_id: [Cell() for _ in assignments] for user_id in names}
    rows = Standing.objects.filter(user_id__in=ids, assignment_id__in=list(position))
    for user_id, assignment_id, cell in cells_of(rows, cohort.score_policy):
        cells[user_id][position[assignment_id]] = cell
    return [
        LearnerRow(user_id, names[user_id][0], names[user_id][1], cells[user_id])
        for user_id in ids
        if user_id in names
    ]


# -- risk -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RiskRules:
    """When a learner is at risk: the cohort's thresholds and which labs are past due."""

    cutoff: datetime  # no submission since then (and a member since then) is inactive
    inactive_days: int
    stuck_attempts: int
    behind_labs: int
    closed_past_due: frozenset[int]  # assignment ids: the due date passed, late work refused
    open_past_due: frozenset[int]  # the due date passed, late work taken with a penalty

    @classmethod
    def of(cls, cohort: Cohort, assignments: list[Assignment], now: datetime) -> RiskRules:
        past = [a for a in assignments if a.is_past_due(now)]
        return cls(
            cutoff=now - timedelta(days=cohort.inactive_days),
            inactive_days=cohort.inactive_days,
            stuck_attempts=cohort.stuck_attempts,
            behind_labs=max(1, cohort.behind_labs),
            closed_past_due=frozenset(a.pk for a in past if not a.takes_work(now)),
            open_past_due=frozenset(a.pk for a in past if a.takes_work(now)),
        )

    def reasons(self, row: LearnerRow, assignments: list[Assignment], now) -> list[str]:
        """Why this learner is at risk, in words; the same rules as `at_risk_weights`."""
        reasons = []
        last = row.last_active
        if row.joined_at < self.cutoff and (last is None or last < self.cutoff):
            since = last or row.joined_at
            days = (now - since).days
            reasons.append(
                f"inactive for {days} days"
                if last
                else f"no submission in {days} days since joining"
            )
        behind = []
        for assignment, cell in zip(assignments, row.cells, strict=True):
            title = assignment.lab.title
            if assignment.pk in self.closed_past_due and not cell.passed_on_time:
                due = timezone.localtime(assignment.due_at)
                reasons.append(
                    f"missed the closed deadline of {title} ({due:%d %b}; best counted "
                    f"{cell.best or 0:.0f}%)"
                )
            elif cell.attempts >= self.stuck_attempts and not cell.passed:
                reasons.append(
                    f"{cell.attempts} attempts at {title} without passing"
                    f" (best {cell.best or 0:.0f}%)"
                )
            if assignment.pk in self.open_past_due and not cell.passed:
                behind.append(title)
        if len(behind) >= self.behind_labs:
            reasons.append(f"behind on {len(behind)} due labs: {', '.join(behind)}")
        return reasons

    def at_risk_weights(self, cohort: Cohort, assignment_ids: list[int]) -> Counter:
        """{user_id: how many reasons} for every learner at risk, in four grouped queries
        whatever the size of the cohort (the rules of `reasons`, in SQL)."""
        weights: Counter = Counter()
        standings = Standing.objects.filter(assignment_id__in=assignment_ids)
        active = standings.filter(last_at__gte=self.cutoff).values("user_id")
        quiet = _learners(cohort).filter(joined_at__lt=self.cutoff).exclude(user_id__in=active)
        weights.update(quiet.values_list("user_id", flat=True))
        missed = standings.filter(assignment_id__in=self.closed_past_due, passed_on_time=False)
        stuck = standings.exclude(assignment_id__in=self.closed_past_due).filter(
            attempts__gte=self.stuck_attempts, passed=False
        )
        for user_id, n in (
            (missed | stuck).values("user_id").annotate(n=Count("pk")).values_list("user_id", "n")
        ):
            weights[user_id] += n
        behind = (
            standings.filter(assignment_id__in=self.open_past_due, passed=False)
            .values("user_id")
            .annotate(n=Count("pk"))
            .filter(n__gte=self.behind_labs)
            .values_list("user_id", flat=True)
        )
        weights.update(behind)
        return weights


# -- per lab --------------------------------------------------------------------------


def _median_of_counts(counts: dict[float, int]) -> float | None:
    """The median of values given as {value: how many}."""
    values = sorted(counts)
    total = sum(counts.values())
    if not total:
        return None
    middle = [(total - 1) // 2, total // 2]
    found, seen = [], 0
    for value in values:
        upto = seen + counts[value]
        found += [value for m in middle if seen <= m < upto]
        seen = upto
    return statistics.mean(found)


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def lab_stats(cohort: Cohort, assignments: list[Assignment], learners: int) -> list[LabStats]:
    """Per lab: who attempted, passed and was late, the medians to a first pass and the
    histogram of counted scores, in four grouped queries and one per lab."""
    ids = [a.pk for a in assignments]
    counted, late_field = Standing.policy_fields(cohort.score_policy)
    standings = Standing.objects.filter(assignment_id__in=ids)
    totals = {
        row["assignment_id"]: row
        for row in standings.values("assignment_id").annotate(
            attempted=Count("pk", filter=Q(attempts__gt=0)),
            passed=Count("pk", filter=Q(passed=True)),
            late=Count("pk", filter=Q(**{f"{late_field}__gt": 0})),
            uncounted=Count("pk", filter=Q(uncounted_attempts__gt=0)),
            total=Sum(Coalesce(counted, Value(0.0), output_field=FloatField())),
        )
    }
    histogram: dict[int, list[int]] = defaultdict(lambda: [0] * 10)
    deciles = (
        standings.filter(**{f"{counted}__isnull": False})
        .annotate(decile=Least(Floor(F(counted) / 10.0), Value(9.0)))
        .values("assignment_id", "decile")
        .annotate(n=Count("pk"))
    )
    for row in deciles:
        histogram[row["assignment_id"]][int(row["decile"])] += row["n"]
    passers = standings.filter(passed=True)
    to_pass: dict[int, dict] = defaultdict(dict)
    for row in passers.values("assignment_id", "attempts_to_pass").annotate(n=Count("pk")):
        if row["attempts_to_pass"] is not None:
            to_pass[row["assignment_id"]][row["attempts_to_pass"]] = row["n"]
    # The middle one or two times to pass per lab, read from an index on (assignment,
    # passed, hours_to_pass): a query per lab, each a couple of rows, however many passed.
    timed = passers.filter(hours_to_pass__isnull=False)
    middle: dict[int, list[float]] = {}
    for assignment_id, n in (
        timed.values("assignment_id").annotate(n=Count("pk")).values_list("assignment_id", "n")
    ):
        ordered = timed.filter(assignment_id=assignment_id).order_by("hours_to_pass")
        middle[assignment_id] = list(
            ordered.values_list("hours_to_pass", flat=True)[(n - 1) // 2 : n // 2 + 1]
        )
    stats = []
    for assignment in assignments:
        row = totals.get(assignment.pk, {})
        stats.append(
            LabStats(
                assignment=assignment,
                learners=learners,
                attempted=row.get("attempted", 0),
                passed=row.get("passed", 0),
                late=row.get("late", 0),
                uncounted=row.get("uncounted", 0),
                median_attempts_to_pass=_median_of_counts(to_pass[assignment.pk]),
                median_hours_to_pass=median(middle.get(assignment.pk, [])),
                histogram=histogram[assignment.pk],
                mean_counted=(row.get("total") or 0.0) / learners if learners else 0.0,
            )
        )
    return stats


def skill_columns(assignments: list[Assignment]) -> dict[str, list[int]]:
    """{skill: the positions of the assignments whose lab carries it}, by skill name."""
    columns: dict[str, list[int]] = defaultdict(list)
    for i, assignment in enumerate(assignments):
        for skill in assignment.lab.skills:
            columns[skill].append(i)
    return dict(sorted(columns.items()))


def skill_mastery(columns: dict[str, list[int]], scores: list[float | None]) -> dict[str, float]:
    """Per skill, the mean counted score (percent) over the labs that carry it;
    unattempted labs count as 0, so mastery means done, not merely tried."""
    return {
        skill: sum(scores[i] or 0.0 for i in where) / len(where) for skill, where in columns.items()
    }


def failing_checks(cohort: Cohort, lab_ids) -> dict[int, list[dict]]:
    """Per lab, the checks that fail most often in each learner's latest graded attempt
    (what is blocking people now, not what they fixed long ago)."""
    learners = _learners(cohort).values("user_id")
    latest = LabProgress.objects.filter(user_id__in=learners, lab_id__in=lab_ids).values(
        "latest_graded_id"
    )
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


def summaries(cohort: Cohort, lab_ids: list[int], *, now) -> dict:
    """Activity and failing checks, reused for SUMMARY_TTL_S: they read every recent
    submission and every latest check, which no per-learner row can stand for."""
    key = f"cohort-summaries:{cohort.pk}:{','.join(map(str, lab_ids))}"
    found = cache.get(key)
    if found is None:
        found = {
            "activity": activity(cohort, lab_ids, now=now),
            "failing": failing_checks(cohort, lab_ids),
            "at": now,
        }
        cache.set(key, found, SUMMARY_TTL_S)
    return found


# -- the heatmap's order ----------------------------------------------------------------


def heatmap_order(
    cohort: Cohort, assignments: list[Assignment], weights: Counter, *, sort: str, query: str
) -> tuple[list[int], int, str]:
    """(the user ids of the learners matching `query` in the heatmap's order, how many
    match, the sort actually used). Only ids and sums travel: the names are ordered in
    SQL, and a sort by mean, by one lab or by risk is a stable sort of them, so that ties
    stay in name order."""
    learners = _learners(cohort)
    if query:
        learners = learners.filter(user__username__icontains=query)
    by_name = list(learners.order_by("user__username").values_list("user_id", flat=True))
    counted = _counted(cohort.score_policy)
    lab_sorts = {f"lab-{a.lab_id}": a for a in assignments}
    # Standing rows are kept for the cohort's learners only, so without a query the
    # assignment alone picks them.
    standings = Standing.objects.filter(assignment_id__in=[a.pk for a in assignments])
    if query:
        standings = standings.filter(user_id__in=learners.values("user_id"))
    if sort == "mean" and assignments:
        totals = dict(
            standings.values("user_id")
            .annotate(total=Sum(Coalesce(counted, Value(0.0), output_field=FloatField())))
            .values_list("user_id", "total")
        )
        return sorted(by_name, key=lambda u: -totals.get(u, 0.0)), len(by_name), sort
    if sort in lab_sorts:
        scores = dict(standings.filter(assignment=lab_sorts[sort]).values_list("user_id", counted))
        return sorted(by_name, key=lambda u: -(scores.get(u) or -1.0)), len(by_name), sort
    if sort == "risk":
        return sorted(by_name, key=lambda u: -weights[u]), len(by_name), sort
    return by_name, len(by_name), "name"


def dashboard_build(
    cohort: Cohort, *, sort: str = "name", query: str = "", page: int = 1, now=None
) -> Dashboard:
    now = now or timezone.now()
    assignments = list(cohort.assignments.select_related("lab"))
    ids = [a.pk for a in assignments]
    lab_ids = [a.lab_id for a in assignments]
    learner_count = _learners(cohort).count()
    rules = RiskRules.of(cohort, assignments, now)
    weights = rules.at_risk_weights(cohort, ids) if assignments else Counter()
    order, total, sort = heatmap_order(cohort, assignments, weights, sort=sort, query=query)
    pages = max(1, -(-total // PAGE_SIZE))
    number = min(max(1, page), pages)
    page_ids = order[(number - 1) * PAGE_SIZE : number * PAGE_SIZE]
    # The most at risk first (ties by id, so that the same ones show on every request).
    risky = sorted(weights, key=lambda u: (-weights[u], u))[:AT_RISK_SHOWN]
    shown = {row.user_id: row for row in learner_rows(cohort, assignments, {*page_ids, *risky})}
    for row in shown.values():
        row.risks = rules.reasons(row, assignments, now)
    at_risk = sorted(
        (shown[u] for u in risky if u in shown), key=lambda r: (-len(r.risks), r.username)
    )
    stats = lab_stats(cohort, assignments, learner_count)
    found = (
        summaries(cohort, lab_ids, now=now)
        if assignments
        else {"activity": [], "failing": {}, "at": now}
    )
    for lab in stats:
        lab.failing_checks = found["failing"].get(lab.assignment.lab_id, [])
    columns = skill_columns(assignments)
    cohort_skills = (
        skill_mastery(columns, [lab.mean_counted for lab in stats]) if learner_count else {}
    )
    return Dashboard(
        cohort=cohort,
        assignments=assignments,
        learner_count=learner_count,
        labs=stats,
        skills=list(columns),
        cohort_skills=cohort_skills,
        at_risk_count=len(weights),
        at_risk=at_risk,
        page=HeatmapPage(
            rows=[shown[u] for u in page_ids if u in shown],
            sort=sort,
            query=query,
            number=number,
            total=total,
        ),
        activity=found["activity"],
        summaries_at=found["at"],
    )
