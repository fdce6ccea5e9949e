"""Catalog pages: the list of labs and one lab's instructions with its submit form."""

import io
import zipfile

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render

from catalog.labfiles import read_tree
from catalog.models import Lab
from cohorts.models import Assignment, LabOpening
from grading.forms import SubmissionForm
from grading.services import latest_texts


@login_required
def lab_list(request):
    every = Lab.objects.active()
    skills = sorted({skill for lab in every for skill in lab.skills})
    skill = request.GET.get("skill", "")
    difficulty = request.GET.get("difficulty", "")
    labs = list(every.with_progress_of(request.user))
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
    form = SubmissionForm(lab=lab, texts=latest_texts(request.user, lab))
    return render_lab_page(request, lab, form)


def render_lab_page(request, lab: Lab, form: SubmissionForm, status: int = 200, problem=""):
    """The lab page, also re-rendered with errors by a rejected submission."""
    return render(
        request,
        "catalog/lab_detail.html",
        {
            "lab": lab,
            "form": form,
            "seed": lab.seed_for(request.user),
            "problem": problem,
            "attempts": request.user.submissions.filter(lab=lab)[:10],
        },
        status=status,
    )


@login_required
def lab_starter(request, slug):
    return starter_zip_response(get_object_or_404(Lab.objects.active(), slug=slug))


def starter_zip_response(lab: Lab) -> HttpResponse:
    """The starter folder as a zip, named after the lab so it unpacks into its own folder."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in read_tree(settings.LABS_DIR / lab.slug / "starter").items():
            archive.writestr(f"{lab.slug}/{name}", data)
    response = HttpResponse(buffer.getvalue(), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{lab.slug}-starter.zip"'
    return response
