"""Following a submission until it is graded, a learner's history on a lab, and files."""

import json

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render

from catalog.models import Lab
from catalog.rendering import highlight_file
from grading import intake, leaderboard
from grading.history import files_diff, score_chart
from grading.models import LeaderboardName, Submission, check_visible_to_learner
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
    extras = submission.extras or {}
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
            # A Gradescope autograder's own output, when its results let the learner read it.
            "autograder_output": submission.grader_log
            if mine
            and not request.user.is_staff
            and check_visible_to_learner(
                extras.get("stdout_visibility", "hidden"),
                due_at=submission.due_at(),
                published=submission.grades_published(),
            )
            else "",
            "extra_data": json.dumps(extras["extra_data"], indent=2)
            if request.user.is_staff and "extra_data" in extras
            else "",
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


@login_required
def lab_leaderboard(request, slug):
    """The lab's leaderboard, and the form where a learner chooses the name they show."""
    lab = get_object_or_404(Lab.objects.active(), slug=slug)
    error = ""
    if request.method == "POST":
        try:
            leaderboard.name_choose(user=request.user, lab=lab, name=request.POST.get("name", ""))
        except leaderboard.NameRefused as exc:
            error = str(exc)
        else:
            return redirect("grading:leaderboard", lab.slug)
    mine = LeaderboardName.objects.filter(user=request.user, lab=lab).first()
    return render(
        request,
        "grading/leaderboard.html",
        {
            "lab": lab,
            "board": leaderboard.board(lab, request.user),
            "my_name": mine.name if mine else "",
            "pseudonym": leaderboard.pseudonym(request.user.pk, lab.pk),
            "typed": request.POST.get("name", "") if error else "",
            "error": error,
        },
        status=400 if error else 200,
    )
