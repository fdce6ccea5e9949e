"""Catalog pages: the list of labs and one lab's instructions with its submit form."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render
from grading.forms import SubmissionForm

from catalog.models import Lab


@login_required
def lab_list(request):
    labs = Lab.objects.active()
    return render(request, "catalog/lab_list.html", {"labs": labs})


@login_required
def lab_detail(request, slug):
    lab = get_object_or_404(Lab.objects.active(), slug=slug)
    return render_lab_page(request, lab, SubmissionForm(lab=lab))


def render_lab_page(request, lab: Lab, form: SubmissionForm, status: int = 200):
    """The lab page, also re-rendered with errors by a rejected submission."""
    return render(
        request,
        "catalog/lab_detail.html",
        {"lab": lab, "form": form, "attempts": request.user.submissions.filter(lab=lab)[:10]},
        status=status,
    )
