"""Pages for site staff: importing a Gradescope autograder and following its import."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render

from grading import imports
from grading.forms import AutograderImportForm
from grading.models import AutograderImport

REFRESH_SECONDS = 2


def _staff_only(request) -> None:
    # Importing runs the zip's setup.sh with the package mirrors: staff only, and the
    # page does not exist for anyone else.
    if not request.user.is_staff:
        raise Http404("No such page")


@login_required
def autograder_import_new(request):
    _staff_only(request)
    form = AutograderImportForm(labs_dir=settings.LABS_DIR)
    if request.method == "POST":
        form = AutograderImportForm(request.POST, request.FILES, labs_dir=settings.LABS_DIR)
        if form.is_valid():
            data = form.cleaned_data
            record = imports.import_create(
                user=request.user,
                archive=data["archive"],
                slug=data["slug"],
                title=data["title"],
                solution=data["solution_files"],
                starter=data["starter_files"] or None,
                strip_top_folder=data["strip_top_folder"],
            )
            return redirect(record)
    return render(
        request,
        "grading/autograder_import_new.html",
        {"form": form, "recent": AutograderImport.objects.all()[:10]},
        status=400 if request.method == "POST" else 200,
    )


@login_required
def autograder_import(request, pk):
    _staff_only(request)
    record = get_object_or_404(AutograderImport, pk=pk)
    if request.method == "POST":
        if request.POST.get("action") == "strip" and record.strippable_folder:
            return redirect(imports.import_again_stripped(record, user=request.user))
        return redirect(record)
    return render(
        request,
        "grading/autograder_import.html",
        {
            "record": record,
            "refresh_seconds": None if record.is_finished() else REFRESH_SECONDS,
        },
    )
