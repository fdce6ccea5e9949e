"""The Lab model: one row per lab folder, loaded by `manage.py labs sync`."""

import hashlib
import hmac

from django.conf import settings
from django.db import models
from django.urls import reverse


class LabQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)


class Lab(models.Model):
    class Difficulty(models.TextChoices):
        INTRO = "intro"
        INTERMEDIATE = "intermediate"
        ADVANCED = "advanced"

    slug = models.SlugField(max_length=63, unique=True)
    title = models.CharField(max_length=120)
    summary = models.TextField()
    skills = models.JSONField(default=list)
    difficulty = models.CharField(max_length=16, choices=Difficulty.choices)
    minutes = models.PositiveIntegerField()
    submit_files = models.JSONField(default=list)
    image = models.CharField(max_length=200)
    command = models.JSONField(default=list)
    # Starter or solution paths the checker also receives (lab.toml's [grader] include).
    grader_include = models.JSONField(default=list, blank=True)
    runtime = models.CharField(max_length=16, blank=True)
    # A seeded lab gives each learner their own data (trace, history, profile).
    seeded = models.BooleanField(default=False)
    # lab.toml's [grader] partial_on_timeout: a time-out keeps the checks made before it.
    partial_on_timeout = models.BooleanField(default=True)
    # How the checker runs and answers: Downstack's contract, or a Gradescope autograder
    # (lab.toml's [gradescope] table), which runs in its own image and writes results.json.
    dialect = models.CharField(
        max_length=16,
        choices=[("native", "Downstack checker"), ("gradescope", "Gradescope autograder")],
        default="native",
    )
    timeout_s = models.PositiveIntegerField()
    memory_mb = models.PositiveIntegerField()
    cpus = models.FloatField()
    pids = models.PositiveIntegerField()
    # lab.toml's [limits] scratch_mb: the size of the scratch space and of the largest
    # file in it (a real etcd preallocates 64 MB of log); empty means the sandbox defaults.
    scratch_mb = models.PositiveIntegerField(null=True, blank=True)
    upload_kb = models.PositiveIntegerField(default=256)
    attempts_per_hour = models.PositiveIntegerField(null=True, blank=True)
    instructions_md = models.TextField()
    instructions_html = models.TextField()
    content_hash = models.CharField(max_length=64)
    is_active = models.BooleanField(default=True)
    synced_at = models.DateTimeField(auto_now=True)

    objects = LabQuerySet.as_manager()

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("catalog:lab_detail", args=[self.slug])

    def time_limit_s(self) -> int:
        """The time a grading run gets: the lab's, within the site's GRADING_MAX_TIMEOUT_S."""
        return min(self.timeout_s, settings.GRADING_MAX_TIMEOUT_S)

    def seed_for(self, user) -> int | None:
        """The learner's own seed for this lab: stable, and not guessable from another's.

        Derived from SECRET_KEY, so rotating the key gives everyone new seeds.
        """
        if not self.seeded:
            return None
        message = f"downstack-seed:{self.slug}:{user.pk}".encode()
        digest = hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).digest()
        return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


class TrackQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)


class Track(models.Model):
    """An ordered path through labs (tracks/<slug>.toml), loaded by `manage.py labs sync`."""

    slug = models.SlugField(max_length=63, unique=True)
    title = models.CharField(max_length=120)
    summary = models.TextField()
    position = models.PositiveIntegerField(default=100)
    # The track asks that a lab refuse submissions until the labs it comes after pass.
    lock = models.BooleanField(default=False)
    content_hash = models.CharField(max_length=64)
    is_active = models.BooleanField(default=True)
    synced_at = models.DateTimeField(auto_now=True)

    objects = TrackQuerySet.as_manager()

    class Meta:
        ordering = ["position", "title"]

    def __str__(self) -> str:
        return self.title


class TrackLab(models.Model):
    """One lab's place on a track, and the labs of the track to pass before it."""

    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="steps")
    lab = models.ForeignKey(Lab, on_delete=models.CASCADE, related_name="track_steps")
    position = models.PositiveIntegerField()
    after = models.JSONField(default=list)  # slugs of labs earlier on the track

    class Meta:
        ordering = ["track", "position"]
        constraints = [
            models.UniqueConstraint(fields=["track", "lab"], name="a_lab_once_per_track"),
        ]

    def __str__(self) -> str:
        return f"{self.track_id}: {self.position}. {self.lab_id}"
