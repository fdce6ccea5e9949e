"""Submission and TestResult: a learner's files, where they are in grading, and the result."""

import uuid

from django.conf import settings
from django.db import models
from django.urls import reverse


class SubmissionQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Only the owner and staff may see a submission; start every lookup here."""
        if not user.is_authenticated:
            return self.none()
        if user.is_staff:
            return self
        return self.filter(user=user)

    def pending(self):
        return self.filter(status__in=(Submission.Status.QUEUED, Submission.Status.RUNNING))

    def awaiting_infrastructure(self):
        return self.filter(status=Submission.Status.QUEUED, infra_failures__gt=0)


class Submission(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        GRADED = "graded"
        ERROR = "error"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="submissions"
    )
    lab = models.ForeignKey("catalog.Lab", on_delete=models.PROTECT, related_name="submissions")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    # What the learner is told while there is no result yet, or why there is none.
    status_detail = models.TextField(blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # A fresh token per claim: only the worker holding it may store the result, so a
    # slow worker cannot overwrite the result of a re-queued run.
    claim_token = models.UUIDField(null=True, blank=True)
    deliveries = models.PositiveIntegerField(default=0)
    infra_failures = models.PositiveIntegerField(default=0)
    last_infra_error = models.TextField(blank=True)

    score = models.FloatField(null=True, blank=True)
    max_score = models.FloatField(null=True, blank=True)
    feedback = models.TextField(blank=True)

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

    objects = SubmissionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user", "lab", "-created_at"]),
            models.Index(fields=["status", "started_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.lab_id}/{self.user_id} {self.status}"

    def get_absolute_url(self) -> str:
        return reverse("grading:submission_detail", args=[self.pk])

    def is_finished(self) -> bool:
        return self.status in (self.Status.GRADED, self.Status.ERROR)

    def passed(self) -> bool:
        return (
            self.status == self.Status.GRADED
            and self.max_score is not None
            and self.score is not None
            and self.score >= self.max_score - 1e-9
        )

    def feedback_html(self) -> str:
        """The checker's summary is markdown; rendered with raw HTML disabled."""
        from catalog.rendering import render_markdown

        return render_markdown(self.feedback)

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

    class Meta:
        ordering = ["position"]

    def __str__(self) -> str:
        return self.name

    def passed(self) -> bool:
        return self.status == "passed"

    def visible_to_learner(self) -> bool:
        # Until cohorts bring due dates and publishing, only "visible" checks are shown.
        return self.visibility == self.Visibility.VISIBLE
