"""Following a submission until it is graded, a learner's history on a lab, and files."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render

from catalog.models import Lab
from catalog.rendering import highlight_file
from grading import intake
from grading.history import files_diff, score_chart
from grading.models import Submission
from grading.progress import labs_with_progress

REFRESH_SECONDS = 2


@login_required
def submission_detail(request, pk):
    submission = get_object_or_404(
        Submission.objects.visible_to(request.user).select_related("lab", "user"), pk=pk
    )
    shown, hidden = submission.checks_for(request.user)
    privileged = request.user.is_staff or submission.user_id != request.user.pk
    mine = submission.user_id == request.user.pk
    passed = submission.status == Submission.Status.GRADED and submission.passed()
    return render(
        request,
        "grading/submission_detail.html",
        {
            "submission": submission,
            "shown_tests": shown,
            "hidden_passed": sum(t.passed() for t in hidden),
            "hidden_failed": sum(not t.passed() for t in hidden),
            "refresh_seconds": None if submission.is_finished() else REFRESH_SECONDS,
            "queue_position": submission.queue_position(),
            "estimated_wait_s": submission.estimated_wait_s(),
            "files": submission.files.all(),
            "privileged": privileged,
            "mine": mine,
            "passed": passed,
            "is_latest": mine
            and intake.latest_submission(request.user, submission.lab) == submission,
            # What to do next, once a learner has passed: the first lab they have not.
            "next_lab": _next_lab(request.user, submission.lab) if mine and passed else None,
        },
    )


def _next_lab(user, lab: Lab) -> Lab | None:
    return (
        labs_with_progress(Lab.objects.active().exclude(pk=lab.pk), user)
        .filter(my_passed=False)
        .first()
    )


@login_required
def history(request, slug):
    lab = get_object_or_404(Lab.objects.active(), slug=slug)
    attempts = list(request.user.submissions.filter(lab=lab).order_by("created_at"))
    ids = [str(s.pk) for s in attempts]
    older = request.GET.get("a") or (ids[-2] if len(ids) > 1 else "")
    newer = request.GET.get("b") or (ids[-1] if ids else "")
    diff = None
    if older and newer and older in ids and newer in ids and older != newer:
        by_id = {str(s.pk): s for s in attempts}
        diff = files_diff(
            intake.submission_texts(by_id[older]), intake.submission_texts(by_id[newer])
        )
    return render(
        request,
        "grading/history.html",
        {
            "lab": lab,
            "attempts": attempts,
            "chart": score_chart(attempts),
            "older": older,
            "newer": newer,
            "older_number": ids.index(older) + 1 if diff else None,
            "newer_number": ids.index(newer) + 1 if diff else None,
            "diff": diff,
        },
    )


@login_required
def submission_file(request, pk, name):
    submission = get_object_or_404(
        Submission.objects.visible_to(request.user).select_related("lab"), pk=pk
    )
    stored = get_object_or_404(submission.files, name=name)
    with stored.content.open("rb") as handle:
        text = handle.read().decode("utf-8", errors="replace")
    return render(
        request,
        "grading/file.html",
        {"submission": submission, "name": name, "code": highlight_file(name, text)},
    )
