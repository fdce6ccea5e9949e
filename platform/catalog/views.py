"""Catalog downloads: a lab's starter files as a zip (the lab pages are in pages.labs)."""

import io
import zipfile

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404

from catalog.labfiles import read_tree
from catalog.models import Lab


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
