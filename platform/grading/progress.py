"""Each learner's standing on a lab (LabProgress), kept by the grading write path, which
also tells the layers above (grading.policy) so they can keep their own."""

from __future__ import annotations

from django.db import models

from catalog.marks import full_marks_q
from grading import policy
from grading.models import LabOpening, LabProgress, Submission, progress_from_attempts


def labprogress_refresh(*, user_id, lab_id) -> LabProgress:
    """Recompute one learner's standing on a lab from their submissions. Safe to run twice."""
    attempts = (
        Submission.objects.filter(user_id=user_id, lab_id=lab_id)
        .order_by("created_at")
        .values_list("pk", "created_at", "status", "score", "max_score")
    )
    opened = LabOpening.objects.filter(user_id=user_id, lab_id=lab_id)
    fields = progress_from_attempts(
        attempts, opened_at=opened.values_list("first_opened_at", flat=True).first()
    )
    row, _ = LabProgress.objects.update_or_create(user_id=user_id, lab_id=lab_id, defaults=fields)
    policy.current().progress_changed(user_id=user_id, lab_id=lab_id)
    return row


def labs_with_progress(labs: models.QuerySet, user) -> models.QuerySet:
    """Annotate each lab with the user's attempts, best score and whether they passed."""
    mine = Submission.objects.filter(lab=models.OuterRef("pk"), user=user)
    counted = mine.exclude(status=Submission.Status.ERROR)
    graded = mine.filter(status=Submission.Status.GRADED)
    return labs.annotate(
        my_attempts=models.Subquery(
            counted.values("lab").annotate(n=models.Count("pk")).values("n")[:1]
        ),
        my_best=models.Subquery(graded.order_by("-score").values("score")[:1]),
        my_best_max=models.Subquery(graded.order_by("-score").values("max_score")[:1]),
        my_passed=models.Exists(graded.filter(full_marks_q())),
    )
