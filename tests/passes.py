"""A graded attempt stored as the pipeline stores one, without Docker, for the tests of
what passing labs leads to (tracks, the skills record, credentials)."""

from django.utils import timezone

from grading.intake import submission_create
from grading.models import Submission
from grading.progress import labprogress_refresh


def graded(user, lab, score: float = 10, max_score: float = 10, content=b"1\n") -> Submission:
    """One graded attempt at ``lab`` with every file it takes, and the learner's standing
    on the lab refreshed (10 of 10 passes)."""
    files = {name: content for name in lab.submit_files}
    submission = submission_create(user=user, lab=lab, files=files)
    Submission.objects.filter(pk=submission.pk).update(
        status="graded", score=score, max_score=max_score, finished_at=timezone.now()
    )
    labprogress_refresh(user_id=user.pk, lab_id=lab.pk)
    return Submission.objects.get(pk=submission.pk)
