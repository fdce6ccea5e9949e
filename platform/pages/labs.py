"""The lab pages: the list of labs with the learner's standing and due dates, one lab's
instructions with its submit form, and the form's submission."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from catalog.models import Lab
from cohorts.models import Assignment
from grading import intake, progress
from grading.forms import UPLOAD, SubmissionForm, editor_field
from grading.models import LabOpening
from grading.uploads import SubmissionRejected


@login_required
def lab_list(request):
    every = Lab.objects.active()
    skills = sorted({skill for lab in every for skill in lab.skills})
    skill = request.GET.get("skill", "")
    difficulty = request.GET.get("difficulty", "")
    labs = list(progress.labs_with_progress(every, request.user))
    due = Assignment.objects.for_learner(request.user).due_dates()
    for lab in labs:
        lab.my_assignment = due.get(lab.pk)
    if skill:
        labs = [lab for lab in labs if skill in lab.skills]
    if difficulty:
        labs = [lab for lab in labs if lab.difficulty == difficulty]
    return render(
        request,
        "catalog/lab_list.html",
        {
            "labs": labs,
            "skills": skills,
            "difficulties": Lab.Difficulty.choices,
            "skill": skill,
            "difficulty": difficulty,
        },
    )


@login_required
def lab_detail(request, slug):
    lab = get_object_or_404(Lab.objects.active(), slug=slug)
    # The start of the cohort dashboard's "time from first opening to first pass".
    LabOpening.record(user=request.user, lab=lab)
    form = SubmissionForm(lab=lab, texts=intake.latest_texts(request.user, lab))
    return render_lab_page(request, lab, form)


def render_lab_page(request, lab: Lab, form: SubmissionForm, status: int = 200, problem=""):
    """The lab page, also re-rendered with errors by a rejected submission. It says the
    learner's due date and whether the lab is closed to them before they start."""
    this_lab = Assignment.objects.for_learner(request.user).filter(lab=lab)
    return render(
        request,
        "catalog/lab_detail.html",
        {
            "lab": lab,
            "form": form,
            "seed": lab.seed_for(request.user),
            "problem": problem,
            "attempts": request.user.submissions.filter(lab=lab)[:10],
            "assignment": this_lab.select_related("cohort").due_dates().get(lab.pk),
            "closed": Assignment.objects.closed_to(request.user, lab),
        },
        status=status,
    )


@login_required
@require_POST
def submission_create(request, slug):
    lab = get_object_or_404(Lab.objects.active(), slug=slug)
    too_large = intake.upload_size_problem(lab=lab, request=request)
    if too_large:
        # Refused before Django reads the body; the editor's text is still in the browser.
        form = SubmissionForm(lab=lab, texts=intake.latest_texts(request.user, lab))
        return render_lab_page(request, lab, form, status=413, problem=too_large)
    data = request.POST.copy()
    if data.get("source") == UPLOAD:
        # The upload form carries no editor text; a refusal must not empty the editor.
        for name, text in intake.latest_texts(request.user, lab).items():
            data.setdefault(editor_field(name), text)
    form = SubmissionForm(data, request.FILES, lab=lab)
    if form.is_valid():
        try:
            files = form.files_by_name(intake.upload_rules(lab))
            submission = intake.submission_create(user=request.user, lab=lab, files=files)
        except SubmissionRejected as exc:
            form.add_error(None, str(exc))
        else:
            return redirect(submission)
    return render_lab_page(request, lab, form, status=400)
