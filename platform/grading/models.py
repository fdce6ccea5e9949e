"""Grading's records: jobs (submissions and regrade runs), their checks, and each
learner's standing on a lab."""

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from catalog.rendering import render_name, render_output
from graders import NOT_RUN_TAG, is_full_marks
from grading import policy


def check_visible_to_learner(
    visibility: str, *, due_at=None, published: bool = False, now=None
) -> bool:
    """Whether a learner may read a check's name and output (or, for a Gradescope
    autograder, its own output: its results' stdout_visibility).

    `after_due_date` checks open once the learner's due date for the lab has passed;
    `after_published` ones once their instructors publish the grades. A lab with no due
    date (no assignment) keeps both hidden, as it always has.
    """
    if visibility == TestResult.Visibility.VISIBLE:
        return True
    if visibility == TestResult.Visibility.AFTER_DUE_DATE and due_at is not None:
        return (now or timezone.now()) >= due_at
    if visibility == TestResult.Visibility.AFTER_PUBLISHED:
        return published
    return False


class SubmissionQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The owner, staff, and the instructors of a cohort the owner learns in may see a
        submission; start every lookup here."""
        if not user.is_authenticated:
            return self.none()
        if user.is_staff:
            return self
        taught = policy.current().taught_learners(user)
        return self.filter(models.Q(user=user) | models.Q(user_id__in=taught.values("pk")))

    def pending(self):
        return self.filter(status__in=(Submission.Status.QUEUED, Submission.Status.RUNNING))

    def awaiting_infrastructure(self):
        return self.filter(status=Submission.Status.QUEUED, infra_failures__gt=0)


class JobStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    GRADED = "graded"
    ERROR = "error"


class GradingJob(models.Model):
    """One grading of a submission's files: its place in the lifecycle and its outcome.

    Submissions and regrade runs are both jobs. grading.jobs is the one path that moves
    them: queued -> running (claimed, with a lease its worker renews) -> graded or error,
    or back to queued when the platform failed or the lease lapsed.
    """

    Status = JobStatus

    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    # What the learner is told while there is no result yet, or why there is none.
    status_detail = models.TextField(blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    # When its message was last sent, so the reaper can tell a lost message from a long queue.
    enqueued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # A fresh token per claim: only the worker holding it may store the result, so a
    # slow worker cannot overwrite the result of a re-queued run.
    claim_token = models.UUIDField(null=True, blank=True)
    # Until when the claim holds: its worker renews it while the sandbox runs. A claim
    # whose lease lapsed belonged to a worker that died, and the reaper re-queues it.
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    deliveries = models.PositiveIntegerField(default=0)
    infra_failures = models.PositiveIntegerField(default=0)
    last_infra_error = models.TextField(blank=True)
    # The worker (its Celery hostname) that holds or last held the claim.
    worker = models.CharField(max_length=255, blank=True)
    # How often the reaper sent it again (its worker died, or its message was lost).
    requeues = models.PositiveIntegerField(default=0)

    score = models.FloatField(null=True, blank=True)
    max_score = models.FloatField(null=True, blank=True)
    feedback = models.TextField(blank=True)
    # How the feedback is written: markdown from a Downstack checker; a Gradescope
    # autograder's output_format (catalog.rendering.render_output shows each).
    feedback_format = models.CharField(max_length=16, default="md")
    # What a Gradescope autograder's results add (graders.results_extras): who may read
    # its own output (stdout_visibility), its extra_data for staff, its leaderboard row.
    extras = models.JSONField(default=dict, blank=True)

    class Meta:
        abstract = True

    def is_finished(self) -> bool:
        return self.status in (JobStatus.GRADED, JobStatus.ERROR)


class Submission(GradingJob):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="submissions"
    )
    lab = models.ForeignKey("catalog.Lab", on_delete=models.PROTECT, related_name="submissions")

    seed = models.BigIntegerField(null=True, blank=True)
    image = models.CharField(max_length=200, blank=True)
    lab_content_hash = models.CharField(max_length=64, blank=True)
    exit_code = models.IntegerField(null=True, blank=True)
    duration_s = models.FloatField(null=True, blank=True)
    peak_memory_bytes = models.BigIntegerField(null=True, blank=True)
    timed_out = models.BooleanField(default=False)
    oom_killed = models.BooleanField(default=False)
    output_truncated = models.BooleanField(default=False)
    grader_log = models.TextField(blank=True)
    # While it is graded: the check the checker said it is working on (Grader.running).
    running_check = models.CharField(max_length=200, blank=True)
    # The applied regrade whose result the fields above hold; None for the first grading.
    current_run = models.ForeignKey(
        "GradeRun", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = SubmissionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user", "lab", "-created_at"]),
            models.Index(fields=["status", "lease_expires_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.lab_id}/{self.user_id} {self.status}"

    def get_absolute_url(self) -> str:
        return reverse("grading:submission_detail", args=[self.pk])

    def passed(self) -> bool:
        return self.status == self.Status.GRADED and is_full_marks(self.score, self.max_score)

    def feedback_html(self) -> str:
        """The checker's summary in its format, made safe (markdown without raw HTML,
        HTML sanitised, text escaped)."""
        return render_output(self.feedback, self.feedback_format)

    def checks_for(self, user) -> tuple[list["TestResult"], list["TestResult"]]:
        """(shown, hidden): the checks this viewer sees in full, and those shown as counts.

        Someone else's submission can only be reached (through visible_to) by staff or
        by an instructor of the owner's cohort, and both see every check.
        """
        tests = list(self.tests.all())
        if user.is_staff or self.user_id != user.pk:
            return tests, []
        due_at, published = self.due_at(), self.grades_published()
        shown = [t for t in tests if t.visible_to_learner(due_at=due_at, published=published)]
        return shown, [t for t in tests if t not in shown]

    def queue_position(self) -> int | None:
        """1 for the next submission to be graded; None once grading has started."""
        if self.status != self.Status.QUEUED:
            return None
        ahead = Submission.objects.filter(
            status=self.Status.QUEUED, created_at__lt=self.created_at
        ).count()
        return ahead + 1

    def estimated_wait_s(self) -> float | None:
        """A rough wait from the median of recent grading durations (one run at a time)."""
        position = self.queue_position()
        if position is None:
            return None
        recent = list(
            Submission.objects.filter(status=self.Status.GRADED, duration_s__isnull=False)
            .order_by("-finished_at")
            .values_list("duration_s", flat=True)[:50]
        )
        if not recent:
            return None
        recent.sort()
        return recent[len(recent) // 2] * position

    def due_at(self):
        """The owner's due date for this lab: the latest over the cohorts they learn in."""
        return policy.current().due_at(user_id=self.user_id, lab=self.lab)

    def grades_published(self) -> bool:
        """Whether the owner's grades for this lab are published (see grading.policy)."""
        return policy.current().grades_published(user_id=self.user_id, lab=self.lab)

    def counts_as_attempt(self) -> bool:
        """Failures of the platform (grader errors, infrastructure) never use up an attempt."""
        return self.status != self.Status.ERROR


def submission_upload_to(instance: "SubmissionFile", filename: str) -> str:
    return f"submissions/{instance.submission_id}/{filename}"


class SubmissionFile(models.Model):
    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="files")
    name = models.CharField(max_length=100)
    content = models.FileField(upload_to=submission_upload_to, max_length=300)
    size = models.PositiveIntegerField()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["submission", "name"], name="unique_file_per_submission"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def read_bytes(self) -> bytes:
        with self.content.open("rb") as handle:
            return handle.read()


class TestResult(models.Model):
    __test__ = False  # not a pytest test class, despite the name

    class Visibility(models.TextChoices):
        VISIBLE = "visible"
        HIDDEN = "hidden"
        AFTER_DUE_DATE = "after_due_date"
        AFTER_PUBLISHED = "after_published"

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="tests")
    position = models.PositiveIntegerField()
    name = models.CharField(max_length=200)
    score = models.FloatField()
    max_score = models.FloatField()
    status = models.CharField(max_length=16)
    output = models.TextField(blank=True)
    visibility = models.CharField(max_length=16, choices=Visibility.choices)
    tags = models.JSONField(default=list)
    # How the output and the name are written (graders.results.FORMATS).
    output_format = models.CharField(max_length=16, default="text")
    name_format = models.CharField(max_length=16, default="text")

    class Meta:
        ordering = ["position"]

    def __str__(self) -> str:
        return self.name

    def passed(self) -> bool:
        return self.status == "passed"

    def not_run(self) -> bool:
        """A check a time-out left unmade (graders.Outcome)."""
        return NOT_RUN_TAG in self.tags

    def visible_to_learner(self, *, due_at=None, published: bool = False, now=None) -> bool:
        return check_visible_to_learner(
            self.visibility, due_at=due_at, published=published, now=now
        )

    def output_html(self) -> str:
        return render_output(self.output, self.output_format)

    def name_html(self) -> str:
        return render_name(self.name, self.name_format)


class GradeRunQuerySet(models.QuerySet):
    def pending(self):
        return self.filter(status__in=(GradeRun.Status.QUEUED, GradeRun.Status.RUNNING))

    def finished(self):
        return self.filter(status__in=(GradeRun.Status.GRADED, GradeRun.Status.ERROR))


class GradeRun(GradingJob):
    """A regrade of a submission into a scratch result, which changes nothing until applied.

    Applying copies this run's result onto the submission and keeps the result it replaces
    in `previous`, so no result is ever lost. `regrade` is the instructor's regrade that
    started it; its runs are `regrade.runs`.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="grade_runs")
    regrade = models.ForeignKey("cohorts.Regrade", on_delete=models.CASCADE, related_name="runs")

    tests = models.JSONField(default=list)
    facts = models.JSONField(default=dict)

    applied_at = models.DateTimeField(null=True, blank=True)
    # The submission's result just before this run was applied: the history.
    previous = models.JSONField(null=True, blank=True)

    objects = GradeRunQuerySet.as_manager()

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"regrade of {self.submission_id} {self.status}"

    def percent(self) -> float | None:
        return score_percent(self.score, self.max_score, self.status == self.Status.GRADED)


def score_percent(score, max_score, graded: bool = True) -> float | None:
    """A score as a percent of full marks; a graded run with no maximum (the program ran
    out of time or memory) is 0, an ungraded one has none."""
    if not graded:
        return None
    if not max_score:
        return 0.0
    return 100.0 * (score or 0.0) / max_score


class LabOpening(models.Model):
    """When a learner first opened a lab's page: the start of "time to first pass"."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lab_openings"
    )
    lab = models.ForeignKey("catalog.Lab", on_delete=models.CASCADE, related_name="openings")
    first_opened_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "lab"], name="one_lab_opening_per_learner")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} opened {self.lab_id}"

    @classmethod
    def record(cls, *, user, lab) -> None:
        """Note the first opening; later visits change nothing. Safe to run twice."""
        LabOpening.objects.bulk_create([LabOpening(user=user, lab=lab)], ignore_conflicts=True)


class LabProgress(models.Model):
    """One learner's standing on one lab, kept by the grading write path.

    Dashboards read these rows (one per learner and lab) instead of every submission, so
    their cost does not grow with attempts. progress.labprogress_refresh recomputes a row
    from the submissions whenever a result is stored or a regrade applied.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lab_progress"
    )
    lab = models.ForeignKey("catalog.Lab", on_delete=models.CASCADE, related_name="progress")
    attempts = models.PositiveIntegerField(default=0)  # graded attempts
    best_percent = models.FloatField(null=True, blank=True)
    last_at = models.DateTimeField(null=True, blank=True)
    first_pass_at = models.DateTimeField(null=True, blank=True)
    attempts_to_pass = models.PositiveIntegerField(null=True, blank=True)
    # From first opening the lab's page to the first pass; None without an opening before it.
    hours_to_pass = models.FloatField(null=True, blank=True)
    latest_graded = models.ForeignKey(
        Submission, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "lab"], name="one_progress_per_lab")]

    def __str__(self) -> str:
        return f"{self.user_id} on {self.lab_id}"


def progress_from_attempts(attempts, *, opened_at=None) -> dict:
    """A LabProgress row's fields from (pk, created_at, status, score, max_score) tuples in
    time order (only graded attempts count) and when the learner first opened the lab."""
    fields: dict[str, Any] = {
        "attempts": 0,
        "best_percent": None,
        "last_at": None,
        "first_pass_at": None,
        "attempts_to_pass": None,
        "hours_to_pass": None,
        "latest_graded_id": None,
    }
    for pk, created_at, status, score, max_score in attempts:
        if status != Submission.Status.GRADED:
            continue
        fields["attempts"] += 1
        percent = score_percent(score, max_score)
        if fields["best_percent"] is None or percent > fields["best_percent"]:
            fields["best_percent"] = percent
        fields["last_at"], fields["latest_graded_id"] = created_at, pk
        if is_full_marks(score, max_score) and fields["first_pass_at"] is None:
            fields["first_pass_at"], fields["attempts_to_pass"] = created_at, fields["attempts"]
    first_pass = fields["first_pass_at"]
    if first_pass is not None and opened_at is not None and opened_at <= first_pass:
        fields["hours_to_pass"] = (first_pass - opened_at).total_seconds() / 3600
    return fields


class WorkerHeartbeat(models.Model):
    """A grading worker's last sign of life, written by the worker itself every
    GRADING_HEARTBEAT_S (grading.heartbeat), with whether its Docker engine answered.
    A row is never deleted by the platform, so a worker that went away shows as silent
    rather than disappearing."""

    hostname = models.CharField(max_length=255, unique=True)
    started_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    # Whether the worker's Docker engine answered at its last heartbeat, and if not why.
    engine_ok = models.BooleanField(default=True)
    engine_detail = models.TextField(blank=True)

    class Meta:
        ordering = ["hostname"]

    def __str__(self) -> str:
        return self.hostname


class LeaderboardName(models.Model):
    """The name a learner chose to appear under on a lab's leaderboard (grading.leaderboard);
    without one they appear as an anonymous pseudonym. Unique per lab, whatever its case."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    lab = models.ForeignKey("catalog.Lab", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=40)
    folded = models.CharField(max_length=40)  # name.casefold(), for the unique constraint

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "lab"], name="one_leaderboard_name_per_lab"),
            models.UniqueConstraint(fields=["lab", "folded"], name="leaderboard_names_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class AutograderImport(models.Model):
    """A Gradescope autograder zip that site staff handed in through the import page, and
    what became of it: a grading worker imports it (grading.imports), building its image
    with the package mirrors, and loads the lab; the log is kept as it goes."""

    class Status(models.TextChoices):
        REFUSED = "refused"  # the zip or the answer was refused before anything ran
        QUEUED = "queued"
        RUNNING = "running"
        IMPORTED = "imported"
        FAILED = "failed"  # setup.sh failed, ran too long, or the engine failed

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    archive = models.FileField(upload_to="autograder-imports/")
    archive_name = models.CharField(max_length=255)
    slug = models.SlugField(max_length=63)
    title = models.CharField(max_length=120)
    # {"solution": {name: base64}, "starter": {name: base64}}: small, as learners' files are.
    answer = models.JSONField(default=dict)
    strip_top_folder = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    log = models.TextField(blank=True)
    error = models.TextField(blank=True)
    # Set when the zip's files sit in one folder: the page offers to import it stripped.
    strippable_folder = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"import of {self.archive_name} as {self.slug}: {self.status}"

    def get_absolute_url(self) -> str:
        return reverse("staff:autograder_import", args=[self.pk])

    def is_finished(self) -> bool:
        return self.status in (self.Status.REFUSED, self.Status.IMPORTED, self.Status.FAILED)
