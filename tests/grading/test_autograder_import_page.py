"""The staff page that imports a Gradescope autograder: refusals shown at once without
losing the upload, and, through a real worker, a build whose log is kept, a lab that
grades, and a failing setup.sh that leaves nothing."""

import io
import stat
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from catalog.models import Lab
from grading.models import AutograderImport
from tests.worker_process import wait_for

RUN_AUTOGRADER = """#!/usr/bin/env bash
# One test: does the learner's answer.txt say 42?
python3 - <<'PY'
import json
answer = open("/autograder/submission/answer.txt").read().strip()
right = answer == "42"
test = {"name": "the answer", "score": 1 if right else 0, "max_score": 1}
json.dump({"tests": [test]}, open("/autograder/results/results.json", "w"))
PY
"""


def zipped(files: dict[str, str], top: str = "") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            info = zipfile.ZipInfo(top + name)
            info.external_attr = (stat.S_IFREG | 0o755) << 16
            archive.writestr(info, text)
    return buffer.getvalue()


def post_import(client, *, archive: bytes, slug="answer-lab", answer=b"42\n", **extra):
    return client.post(
        reverse("staff:autograder_import_new"),
        {
            "archive": SimpleUploadedFile("hw.zip", archive),
            "slug": slug,
            "title": "The answer",
            "solution": [SimpleUploadedFile("answer.txt", answer)],
            **extra,
        },
    )


@pytest.fixture
def as_staff(client, staff, labs_dir, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    client.force_login(staff)
    return client


@pytest.mark.django_db
def test_a_zip_without_run_autograder_is_refused_at_once_by_name(as_staff, labs_dir) -> None:
    response = post_import(as_staff, archive=zipped({"setup.sh": "true\n"}))

    record = AutograderImport.objects.get()
    assert response.status_code == 302 and response["Location"] == record.get_absolute_url()
    assert record.status == "refused" and "run_autograder" in record.error
    page = as_staff.get(record.get_absolute_url()).content.decode()
    assert "Refused" in page and "run_autograder" in page
    assert list(labs_dir.iterdir()) == []


@pytest.mark.django_db
def test_a_zip_in_one_folder_is_offered_stripped_without_uploading_it_again(
    as_staff, django_capture_on_commit_callbacks
) -> None:
    archive = zipped({"setup.sh": "true\n", "run_autograder": RUN_AUTOGRADER}, top="hw1/")
    post_import(as_staff, archive=archive)
    refused = AutograderImport.objects.get()
    assert refused.strippable_folder == "hw1"
    assert "Import what is inside hw1/" in as_staff.get(refused.get_absolute_url()).content.decode()

    with django_capture_on_commit_callbacks() as sent:
        response = as_staff.post(refused.get_absolute_url(), {"action": "strip"})

    again = AutograderImport.objects.exclude(pk=refused.pk).get()
    assert response["Location"] == again.get_absolute_url()
    assert again.status == "queued" and again.strip_top_folder
    assert again.archive.name == refused.archive.name and again.answer == refused.answer
    assert len(sent) == 1  # the worker's message, sent once the row is saved


@pytest.mark.django_db
def test_form_errors_keep_what_was_typed(as_staff, labs_dir) -> None:
    (labs_dir / "taken").mkdir()
    archive = zipped({"setup.sh": "true\n", "run_autograder": RUN_AUTOGRADER})

    taken = post_import(as_staff, archive=archive, slug="taken")
    starter = post_import(as_staff, archive=archive, starter=[SimpleUploadedFile("other.txt", b"")])

    assert taken.status_code == 400 and "exists already" in taken.content.decode()
    assert 'value="The answer"' in taken.content.decode()
    assert "same files as the answer (answer.txt)" in starter.content.decode()
    assert not AutograderImport.objects.exists()


@pytest.mark.docker
@pytest.mark.worker
def test_a_worker_builds_the_import_keeps_its_log_and_the_lab_grades(
    client, staff, learner, labs_dir, start_worker
) -> None:
    from grading.intake import submission_create
    from tests.worker_process import finished

    worker = start_worker(queues="grading,default")
    client.force_login(staff)
    good = zipped({"setup.sh": "echo setting-up-the-course\n", "run_autograder": RUN_AUTOGRADER})
    bad = zipped({"setup.sh": "echo about-to-fail; exit 4\n", "run_autograder": RUN_AUTOGRADER})
    post_import(client, archive=good)
    post_import(client, archive=bad, slug="broken-lab")
    imported = AutograderImport.objects.get(slug="answer-lab")
    failed = AutograderImport.objects.get(slug="broken-lab")

    def done(record):
        def check():
            record.refresh_from_db()
            return record if record.is_finished() else None

        return check

    wait_for(done(imported), timeout=600)
    wait_for(done(failed), timeout=600)

    assert imported.status == "imported", (imported.error, worker.output()[-3000:])
    assert "setting-up-the-course" in imported.log
    lab = Lab.objects.get(slug="answer-lab")
    page = client.get(imported.get_absolute_url()).content.decode()
    assert "Imported." in page and lab.get_absolute_url() in page
    assert failed.status == "failed" and "setup.sh failed with exit status 4" in failed.error
    assert "about-to-fail" in failed.log
    assert not (labs_dir / "broken-lab").exists()
    assert not Lab.objects.filter(slug="broken-lab").exists()

    right = submission_create(user=learner, lab=lab, files={"answer.txt": b"42\n"})
    wrong = submission_create(user=learner, lab=lab, files={"answer.txt": b"41\n"})
    right, wrong = wait_for(finished(right.pk)), wait_for(finished(wrong.pk))
    assert (right.status, right.score, right.max_score) == ("graded", 1, 1)
    assert (wrong.status, wrong.score, wrong.max_score) == ("graded", 0, 1)
