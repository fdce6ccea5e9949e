"""What a Gradescope autograder is told about the submission it grades.

Gradescope puts ``submission_metadata.json`` beside every submission; autograders read
it for the learner, the due date and earlier scores (to limit attempts, or to grade
late work). This is Gradescope's shape with Downstack's facts. Earlier submissions
carry their time and score, not their results: the autograder runs the learner's code
in its own process, as root, so the results of hidden tests would reach the learner.
"""

from __future__ import annotations

from datetime import datetime

from grading import policy
from grading.models import JobStatus, Submission


def submission_metadata(submission: Submission) -> dict:
    """submission_metadata.json for grading ``submission`` (a row with its lab and user)."""
    lab, user = submission.lab, submission.user
    due_at = policy.current().due_at(user_id=user.pk, lab=lab)
    earlier = (
        Submission.objects.filter(
            user_id=user.pk,
            lab_id=lab.pk,
            created_at__lt=submission.created_at,
            status=JobStatus.GRADED,
        )
        .order_by("created_at")
        .values_list("created_at", "score")
    )
    return {
        "id": str(submission.pk),
        "created_at": _when(submission.created_at),
        "submission_method": "upload",
        "assignment": {
            "id": lab.slug,
            "title": lab.title,
            "due_date": _when(due_at),
            "late_due_date": None,
            "release_date": None,
            "group_submission": False,
            "group_size": None,
            "total_points": None,
        },
        "users": [
            {
                "id": user.pk,
                "name": user.get_full_name() or user.get_username(),
                "email": user.email,
            }
        ],
        "previous_submissions": [
            {"submission_time": _when(created_at), "score": score} for created_at, score in earlier
        ],
    }


def _when(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
