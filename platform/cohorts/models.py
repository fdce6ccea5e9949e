"""Cohorts: who teaches and who learns together, their invites, assignments and regrades."""

import secrets
import uuid

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.validators import MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone

from cohorts import standing
from grading.models import GradeRun, LabProgress, Submission, score_percent


class CohortQuerySet(models.QuerySet):
    def taught_by(self, user):
        """Cohorts the user may run: the ones they teach, or every cohort for site staff
        (is_staff, the one test of a site admin everywhere, as for submissions).

        Every instructor page starts here, so an id in a URL cannot reach another cohort.
        """
        if not user.is_authenticated:
            return self.none()
        if user.is_staff:
            return self
        return self.filter(
            memberships__user=user, memberships__role=Membership.Role.INSTRUCTOR
        ).distinct()

    def joined_by(self, user):
        """Cohorts the user learns in."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(memberships__user=user, memberships__role=Membership.Role.LEARNER)

    def active(self):
        """The cohorts the lists show; an archived one keeps its data and pages."""
        return self.filter(archived_at__isnull=True)

    def archived(self):
        return self.filter(archived_at__isnull=False)


class Cohort(models.Model):
    class ScorePolicy(models.TextChoices):
        BEST = "best", "Best attempt"
        LAST = "last", "Last attempt"

    name = models.CharField(max_length=120)
    created_at = models.DateTimeField(auto_now_add=True)
    # Which attempt counts in the gradebook; late penalties apply to either.
    score_policy = models.CharField(
        max_length=8, choices=ScorePolicy.choices, default=ScorePolicy.BEST
    )
    # When the dashboard shows a learner as at risk (a missed deadline of a lab that
    # closes always does): no submission for this many days, this many attempts at a lab
    # without passing it, or this many labs past their due date and not passed.
    inactive_days = models.PositiveIntegerField(default=7)
    stuck_attempts = models.PositiveIntegerField(default=8, validators=[MinValueValidator(1)])
    behind_labs = models.PositiveIntegerField(default=2, validators=[MinValueValidator(1)])
    # Archived: gone from the lists and closed to new members, with every row kept.
    archived_at = models.DateTimeField(null=True, blank=True)

    objects = CohortQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        # Granted by site staff in the admin (on a user or a group): the holder may create
        # cohorts, and teaches each one they create. Staff may without it.
        permissions = [("create_cohort", "Can create cohorts (instructor)")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("cohorts:dashboard", args=[self.pk])

    def learners(self):
        return get_user_model().objects.filter(
            cohort_memberships__cohort=self, cohort_memberships__role=Membership.Role.LEARNER
        )

    def is_taught_by(self, user) -> bool:
        return Cohort.objects.taught_by(user).filter(pk=self.pk).exists()

    @staticmethod
    def creatable_by(user) -> bool:
        """Site staff, and whoever staff granted cohorts.create_cohort, may create cohorts."""
        return user.is_authenticated and (user.is_staff or user.has_perm("cohorts.create_cohort"))

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    def archive(self) -> None:
        """Hide the cohort from the lists and close it to new members. Safe to run twice."""
        if self.archived_at is None:
            self.archived_at = timezone.now()
            self.save(update_fields=["archived_at"])

    def restore(self) -> None:
        if self.archived_at is not None:
            self.archived_at = None
            self.save(update_fields=["archived_at"])

    def add_member(self, user, role: str) -> "Membership":
        """Add someone, or change their role if they are already in. Safe to run twice."""
        membership, _ = Membership.objects.update_or_create(
            cohort=self, user=user, defaults={"role": role}
        )
        return membership


class Membership(models.Model):
    class Role(models.TextChoices):
        LEARNER = "learner"
        INSTRUCTOR = "instructor"

    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cohort_memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.LEARNER)
    joined_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["role", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["cohort", "user"], name="one_membership_per_cohort")
        ]
        indexes = [models.Index(fields=["cohort", "role"])]

    def __str__(self) -> str:
        return f"{self.user_id} {self.role} in {self.cohort_id}"


def new_invite_code() -> str:
    # Short enough to read out in a classroom, long enough not to be guessed.
    return secrets.token_urlsafe(9)


class InviteInvalid(Exception):
    """An invite code that is unknown, expired or revoked, or whose cohort was archived;
    the message says which, and what to do."""


class InviteQuerySet(models.QuerySet):
    def live(self, now=None):
        now = now or timezone.now()
        return self.filter(
            revoked_at__isnull=True, expires_at__gt=now, cohort__archived_at__isnull=True
        )

    def usable(self, code: str, now=None) -> "Invite":
        """The invite a code names, if it still admits people; else InviteInvalid, saying why."""
        code = (code or "").strip()
        invite = self.select_related("cohort").filter(code=code).first() if code else None
        if invite is None:
            raise InviteInvalid(
                "This invite code is not known. Check it for typos, or ask your instructor "
                "for the invite link."
            )
        problem = invite.problem(now)
        if problem:
            raise InviteInvalid(problem)
        return invite


class Invite(models.Model):
    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="invites")
    code = models.CharField(max_length=32, unique=True, default=new_invite_code)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = InviteQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"invite to {self.cohort_id}"

    def get_absolute_url(self) -> str:
        return reverse("cohorts:join_code", args=[self.code])

    def is_live(self, now=None) -> bool:
        return self.problem(now) is None

    def problem(self, now=None) -> str | None:
        """Why this invite admits nobody now (for the person holding it), or None."""
        now = now or timezone.now()
        if self.revoked_at is not None:
            return "This invite was revoked by your instructor. Ask them for a new one."
        if self.expires_at <= now:
            expired = timezone.localtime(self.expires_at)
            return (
                f"This invite expired on {expired:%d %b %Y at %H:%M} ({expired.tzname()}). "
                "Ask your instructor for a new one."
            )
        if self.cohort.is_archived:
            return f"{self.cohort.name} was archived and takes no new members."
        return None

    def revoke(self) -> None:
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])


class AssignmentQuerySet(models.QuerySet):
    def for_learner(self, user):
        if not user.is_authenticated:
            return self.none()
        return self.filter(
            cohort__memberships__user=user, cohort__memberships__role=Membership.Role.LEARNER
        )

    def closed_to(self, user, lab, now=None) -> "Assignment | None":
        """The assignment that refuses this learner's work on this lab now, if every cohort
        that assigns it to them closed it at a due date that has passed; None while any of
        them still takes work (or none assigns it: practice is always open)."""
        now = now or timezone.now()
        mine = list(self.for_learner(user).filter(lab=lab).select_related("cohort"))
        if not mine or any(a.takes_work(now) for a in mine):
            return None
        return max(mine, key=lambda a: a.due_at)

    def due_dates(self) -> dict[int, "Assignment"]:
        """The assignment with the latest due date per lab (a learner in two cohorts
        keeps the later deadline, so nothing due later elsewhere is revealed early)."""
        latest: dict[int, Assignment] = {}
        for assignment in self.order_by("due_at"):
            latest[assignment.lab_id] = assignment
        return latest


class Assignment(models.Model):
    class LatePolicy(models.TextChoices):
        PENALTY = "penalty", "Accept late work with a penalty per day"
        CLOSE = "close", "Close at the due date"

    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="assignments")
    lab = models.ForeignKey("catalog.Lab", on_delete=models.CASCADE, related_name="assignments")
    opens_at = models.DateTimeField()
    due_at = models.DateTimeField()
    late_policy = models.CharField(
        max_length=8, choices=LatePolicy.choices, default=LatePolicy.PENALTY
    )
    # Percent of full marks taken off per started day late.
    penalty_per_day = models.FloatField(default=10.0)
    # When the instructor published the grades: checks marked `after_published` open to
    # the cohort's learners then (and close again if they are unpublished).
    grades_published_at = models.DateTimeField(null=True, blank=True)

    objects = AssignmentQuerySet.as_manager()

    class Meta:
        ordering = ["due_at", "lab__title"]
        constraints = [
            models.UniqueConstraint(fields=["cohort", "lab"], name="one_assignment_per_lab"),
            models.CheckConstraint(
                condition=models.Q(due_at__gte=models.F("opens_at")), name="due_after_open"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.lab_id} in {self.cohort_id}"

    def days_late(self, when) -> int:
        return standing.days_late(self, when)

    def counted_percent(self, percent: float | None, when) -> float | None:
        return standing.counted_percent(self, percent, when)

    def attempt_count(self, percent: float | None, when) -> standing.AttemptCount:
        """How an attempt with this score, handed in then, counts (see cohorts.standing)."""
        return standing.attempt_count(self, percent, when)

    def is_past_due(self, now=None) -> bool:
        return (now or timezone.now()) > self.due_at

    def takes_work(self, now=None) -> bool:
        return self.late_policy != self.LatePolicy.CLOSE or not self.is_past_due(now)


class StandingQuerySet(models.QuerySet):
    def refresh(self, assignments, user_ids=None) -> int:
        """Recompute the rows of these assignments, for all of each cohort's learners or
        only `user_ids`, in a few queries per assignment. Safe to run twice; returns the
        number of rows written."""
        wanted = None if user_ids is None else list(user_ids)
        written = 0
        for assignment in assignments:
            learners = Membership.objects.filter(
                cohort_id=assignment.cohort_id, role=Membership.Role.LEARNER
            )
            if wanted is not None:
                learners = learners.filter(user_id__in=wanted)
            ids = list(learners.values_list("user_id", flat=True))
            if not ids:
                continue
            rows = standing.standing_rows(
                assignment,
                ids,
                models={"Standing": Standing, "Submission": Submission, "LabProgress": LabProgress},
            )
            self.bulk_create(
                rows,
                batch_size=500,
                update_conflicts=True,
                unique_fields=["assignment", "user"],
                update_fields=list(standing.ROW_FIELDS),
            )
            written += len(rows)
        return written


class Standing(models.Model):
    """One learner's counted work on one assignment: what the heatmap, the progress page,
    the at-risk list and the gradebook read (cohorts.standing says how attempts count).

    Kept by the write paths: a graded or regraded attempt (grading.policy), a new member,
    and a changed assignment (cohorts.signals). Both score policies are kept, so changing
    the cohort's policy rewrites nothing.
    """

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="standings")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    attempts = models.PositiveIntegerField(default=0)  # graded attempts
    counted_best = models.FloatField(null=True, blank=True)  # percent, after the late policy
    best_days_late = models.PositiveIntegerField(default=0)  # of the attempt counted_best is
    counted_last = models.FloatField(null=True, blank=True)
    last_days_late = models.PositiveIntegerField(default=0)
    late_attempts = models.PositiveIntegerField(default=0)  # counted with a penalty
    uncounted_attempts = models.PositiveIntegerField(default=0)  # after the lab closed
    passed = models.BooleanField(default=False)  # full marks in an attempt that counts
    passed_on_time = models.BooleanField(default=False)
    attempts_to_pass = models.PositiveIntegerField(null=True, blank=True)
    hours_to_pass = models.FloatField(null=True, blank=True)
    last_at = models.DateTimeField(null=True, blank=True)

    objects = StandingQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["assignment", "user"], name="one_standing_per_learner")
        ]
        # The dashboard's median time to a first pass reads the middle of this index.
        indexes = [
            models.Index(fields=["assignment", "passed", "hours_to_pass"], name="standing_to_pass")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} on {self.assignment_id}"

    @staticmethod
    def policy_fields(policy: str) -> tuple[str, str]:
        """(the counted score, how late its attempt was): the columns the gradebook reads
        under the cohort's score policy."""
        if policy == Cohort.ScorePolicy.LAST:
            return "counted_last", "last_days_late"
        return "counted_best", "best_days_late"


class RegradeQuerySet(models.QuerySet):
    def taught_by(self, user):
        return self.filter(cohort__in=Cohort.objects.taught_by(user))


class Regrade(models.Model):
    """One instructor's regrade: a dry run into scratch results, then applied or discarded.

    Its grading.GradeRun rows (`runs`) hold the scratch results.
    """

    class State(models.TextChoices):
        DRY_RUN = "dry_run", "Dry run"
        APPLIED = "applied"
        DISCARDED = "discarded"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="regrades")
    lab = models.ForeignKey("catalog.Lab", on_delete=models.CASCADE, related_name="+")
    # Narrower scopes: one learner's attempts at the lab, or one submission.
    learner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    submission = models.ForeignKey(
        "grading.Submission", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.DRY_RUN)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    objects = RegradeQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"regrade {self.pk} of {self.lab_id}"

    def get_absolute_url(self) -> str:
        return reverse("cohorts:regrade_detail", args=[self.cohort_id, self.pk])

    def scope_label(self) -> str:
        if self.submission_id:
            return "one submission"
        if self.learner_id:
            return f"{self.learner} on this lab"
        return "the whole lab for the cohort"


def regrade_changes(regrade: Regrade) -> dict:
    """Who goes up, who goes down and by how much (percent of full marks), per run.

    Before applying, a run is compared with the submission's current result; after, with
    the result it replaced (kept on the run).
    """
    rows = []
    runs = (
        regrade.runs.all()
        .select_related("submission__user")
        .order_by("submission__user__username", "submission__created_at")
    )
    for run in runs:
        submission = run.submission
        before = (
            run.previous
            if run.previous is not None
            else {
                "score": submission.score,
                "max_score": submission.max_score,
                "status": submission.status,
            }
        )
        old = score_percent(before["score"], before["max_score"], before["status"] == "graded")
        new = run.percent() if run.status == GradeRun.Status.GRADED else None
        rows.append(
            {
                "run": run,
                "submission": submission,
                "learner": submission.user,
                "old": old,
                "new": new,
                "delta": None if old is None or new is None else new - old,
            }
        )
    finished = [r for r in rows if r["delta"] is not None]
    return {
        "rows": rows,
        "up": sum(1 for r in finished if r["delta"] > 1e-9),
        "down": sum(1 for r in finished if r["delta"] < -1e-9),
        "same": sum(1 for r in finished if abs(r["delta"]) <= 1e-9),
        "pending": sum(1 for r in rows if not r["run"].is_finished()),
        "errors": sum(1 for r in rows if r["run"].status == GradeRun.Status.ERROR),
    }
