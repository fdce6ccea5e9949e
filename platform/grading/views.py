"""Submitting files and following a submission until it is graded."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from catalog.models import Lab
from catalog.rendering import highlight_file
from catalog.views import render_lab_page
from grading.forms import UPLOAD, SubmissionForm, editor_field
from grading.history import files_diff, score_chart
from grading.models import Submission
from grading.services import (
    SubmissionRejected,
    latest_texts,
    submission_texts,
    upload_rules,
    upload_size_problem,
)
from grading.services import submission_create as create

REFRESH_SECONDS = 2


@login_required
@require_POST
def submission_create(request, slug):
    lab = get_object_or_404(Lab.objects.active(), slug=slug)
    too_large = upload_size_problem(lab=lab, request=request)
    if too_large:
        # Refused before Django reads the body; the editor's text is still in the browser.
        form = SubmissionForm(lab=lab, texts=latest_texts(request.user, lab))
        return render_lab_page(request, lab, form, status=413, problem=too_large)
    data = request.POST.copy()
    if data.get("source") == UPLOAD:
        # The upload form carries no editor text; a refusal must not empty the editor.
        for name, text in latest_texts(request.user, lab).items():
            data.setdefault(editor_field(name), text)
    form = SubmissionForm(data, request.FILES, lab=lab)
    if form.is_valid():
        try:
            files = form.files_by_name(upload_rules(lab))
            submission = create(user=request.user, lab=lab, files=files)
        except SubmissionRejected as exc:
            form.add_error(None, str(exc))
        else:
            return redirect(submission)
    return render_lab_page(request, lab, form, status=400)


@login_required
def submission_detail(request, pk):
    submission = get_object_or_404(
        Submission.objects.visible_to(request.user).select_related("lab", "user"), pk=pk
    )
    shown, hidden = submission.checks_for(request.user)
    privileged = request.user.is_staff or submission.user_id != request.user.pk
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
        },
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
        diff = files_diff(submission_texts(by_id[older]), submission_texts(by_id[newer]))
    return render(
        request,
        "grading/history.html",
        {
            "lab": lab,
            "attempts": attempts,
            "chart": score_chart(attempts),
            "older": older,
            "newer": newer,
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
