"""Taking a learner's work: the upload rules, the attempt and due-date limits, and the
submission row that is queued for grading once it is committed."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from catalog import tracks
from catalog.models import Lab
from grading import policy, queue
from grading.models import LabProgress, Submission, SubmissionFile
from grading.uploads import SubmissionRejected, UploadRules, check_files

# Room for multipart overhead and the editor's copy of the files beside the uploads.
UPLOAD_SLACK_BYTES = 256 * 1024


def upload_rules(lab: Lab) -> UploadRules:
    return UploadRules(
        allowed=tuple(lab.submit_files),
        max_file_bytes=lab.upload_kb * 1024,
        max_total_bytes=lab.upload_kb * 1024,
    )


def upload_size_problem(*, lab: Lab, request) -> str | None:
    """Why a request body is too big to read at all for this lab, judged from its header."""
    declared = int(request.META.get("CONTENT_LENGTH") or 0)
    limit = upload_rules(lab).max_total_bytes
    if declared > 3 * limit + UPLOAD_SLACK_BYTES:
        return f"The upload is {declared:,} bytes; this lab takes at most {limit:,} bytes of files."
    return None


def latest_submission(user, lab: Lab) -> Submission | None:
    """The learner's newest submission of a lab: the one the editor starts from."""
    return Submission.objects.filter(user=user, lab=lab).order_by("-created_at").first()


def latest_texts(user, lab: Lab) -> dict[str, str]:
    """What the editor starts with: the learner's latest submission, else the starter."""
    latest = latest_submission(user, lab)
    if latest is not None:
        return submission_texts(latest)
    starter = settings.LABS_DIR / lab.slug / "starter"
    return {
        name: (starter / name).read_text(encoding="utf-8", errors="replace")
        for name in lab.submit_files
        if (starter / name).is_file()
    }


def submission_texts(submission: Submission) -> dict[str, str]:
    """A submission's files as text, for the editor, the file view and diffs."""
    return {
        f.name: f.read_bytes().decode("utf-8", errors="replace") for f in submission.files.all()
    }


def attempts_check(*, user, lab: Lab, now=None) -> None:
    """Refuse a submission past the lab's attempts per hour, saying when the next one opens.

    Submissions that failed through no fault of the learner (grader errors) never count.
    """
    if not lab.attempts_per_hour:
        return
    now = now or timezone.now()
    window = Submission.objects.filter(
        user=user, lab=lab, created_at__gt=now - timedelta(hours=1)
    ).exclude(status=Submission.Status.ERROR)
    times = list(window.order_by("created_at").values_list("created_at", flat=True))
    if len(times) < lab.attempts_per_hour:
        return
    opens = times[len(times) - lab.attempts_per_hour] + timedelta(hours=1)
    local = timezone.localtime(opens)
    raise SubmissionRejected(
        f"You have used all {lab.attempts_per_hour} attempts for this lab in the last hour. "
        f"Your next attempt is available at {local:%H:%M} ({local.tzname()}). "
        "Your files were not submitted; keep them and try again then."
    )


def passed_labs(user) -> set[str]:
    """The slugs of the labs a learner has passed (full marks in a graded attempt)."""
    return set(
        LabProgress.objects.filter(user=user, first_pass_at__isnull=False).values_list(
            "lab__slug", flat=True
        )
    )


def track_lock_check(*, user, lab: Lab) -> None:
    """Refuse a lab that a track locks until the labs it comes after are passed."""
    refusal = tracks.lock_refusal(lab, passed_labs(user))
    if refusal:
        raise SubmissionRejected(refusal)


def deadline_check(*, user, lab: Lab, now=None) -> None:
    """Refuse work on a lab that the learner's cohorts closed at its due date."""
    refusal = policy.current().submission_refusal(user=user, lab=lab, now=now)
    if refusal:
        raise SubmissionRejected(refusal)


def submission_create(*, user, lab: Lab, files: dict[str, bytes]) -> Submission:
    """Store a learner's files and queue them for grading once the row is committed."""
    if not lab.is_active:
        raise SubmissionRejected("This lab has been retired and no longer takes submissions.")
    check_files(files, upload_rules(lab))
    with transaction.atomic():
        # One learner's submissions are counted one at a time, so two quick clicks
        # cannot both take the last attempt of the hour.
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        attempts_check(user=user, lab=lab)
        deadline_check(user=user, lab=lab)
        track_lock_check(user=user, lab=lab)
        submission = Submission.objects.create(
            user=user,
            lab=lab,
            lab_content_hash=lab.content_hash,
            seed=lab.seed_for(user),
            status=Submission.Status.QUEUED,
        )
        for name, data in sorted(files.items()):
            SubmissionFile.objects.create(
                submission=submission, name=name, size=len(data), content=ContentFile(data, name)
            )
        transaction.on_commit(lambda: queue.submission_send(submission_id=submission.pk))
    return submission
