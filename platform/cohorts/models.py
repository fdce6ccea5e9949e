"""Cohorts: who teaches and who learns together, their invites, assignments and regrades."""

import math
import secrets
import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import models
from django.urls import reverse
from django.utils import timezone

from grading.models import GradeRun, score_percent


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
    # A learner with no submission for this many days is shown as at risk.
    inactive_days = models.PositiveIntegerField(default=7)
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
        """Started days after the due date (an hour late is one day late)."""
        if when <= self.due_at:
            return 0
        return math.ceil((when - self.due_at) / timedelta(days=1))

    def counted_percent(self, percent: float | None, when) -> float | None:
        """A score (percent of full marks) after the late policy; None when it does not count."""
        if percent is None:
            return None
        late = self.days_late(when)
        if not late:
            return percent
        if self.late_policy == self.LatePolicy.CLOSE:
            return None
        return max(0.0, percent - self.penalty_per_day * late)

    def is_past_due(self, now=None) -> bool:
        return (now or timezone.now()) > self.due_at

    def takes_work(self, now=None) -> bool:
        return self.late_policy != self.LatePolicy.CLOSE or not self.is_past_due(now)


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
