"""The staff page that imports a Gradescope autograder: refusals shown at once without
losing the upload, and, through a real worker, a build whose log is kept, a lab that
grades, and a failing setup.sh that leaves nothing."""

import uuid

import docker
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from catalog.models import Lab
from grading.models import AutograderImport
from tests.autograders import autograder_zip
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
    return autograder_zip(files, top=top)


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
    # New content each run, so that the image is built here and not found from before.
    setup = f"echo setting-up-the-course {uuid.uuid4().hex}\n"
    good = zipped({"setup.sh": setup, "run_autograder": RUN_AUTOGRADER})
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
    docker.from_env().images.remove(lab.image)  # built for this run alone


@pytest.mark.django_db
def test_an_import_whose_worker_died_is_taken_over_and_a_live_one_is_not(
    as_staff, settings
) -> None:
    from datetime import timedelta

    from django.core.files.base import ContentFile
    from django.utils import timezone

    from grading import imports

    def running(started_ago_s: float) -> AutograderImport:
        record = AutograderImport.objects.create(
            archive=ContentFile(zipped({"setup.sh": "true\n"}), name="hw.zip"),
            archive_name="hw.zip",
            slug=f"hw-{int(started_ago_s)}",
            title="Homework",
            answer={"solution": {"answer.txt": "NDIK"}, "starter": {}},
            status=AutograderImport.Status.RUNNING,
            started_at=timezone.now() - timedelta(seconds=started_ago_s),
        )
        return record

    live, dead = running(60), running(4000)

    for record in (live, dead):
        imports.import_run(import_id=record.pk, abandoned_after_s=1200)
        record.refresh_from_db()

    assert live.status == "running"  # its worker may still be building
    # Taken over, and run again: this zip lacks run_autograder, which the run now says.
    assert dead.status == "failed" and "run_autograder" in dead.error


@pytest.mark.django_db
def test_the_autograder_is_told_the_learner_the_due_date_and_earlier_scores(
    learner, hello_lab
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from cohorts.models import Assignment, Cohort, Membership
    from grading.gradescope import submission_metadata
    from grading.intake import submission_create
    from grading.models import Submission

    learner.email, learner.first_name = "ada@example.org", "Ada"
    learner.save()
    cohort = Cohort.objects.create(name="Spring")
    Membership.objects.create(cohort=cohort, user=learner, role=Membership.Role.LEARNER)
    due = timezone.now() + timedelta(days=2)
    Assignment.objects.create(
        cohort=cohort, lab=hello_lab, opens_at=timezone.now() - timedelta(days=1), due_at=due
    )
    first = submission_create(user=learner, lab=hello_lab, files={"logparse.py": b"1\n"})
    Submission.objects.filter(pk=first.pk).update(status="graded", score=4, max_score=10)
    errored = submission_create(user=learner, lab=hello_lab, files={"logparse.py": b"2\n"})
    Submission.objects.filter(pk=errored.pk).update(status="error")
    now = submission_create(user=learner, lab=hello_lab, files={"logparse.py": b"3\n"})

    metadata = submission_metadata(Submission.objects.select_related("lab", "user").get(pk=now.pk))

    assert metadata["id"] == str(now.pk)
    assert metadata["assignment"]["title"] == hello_lab.title
    assert metadata["assignment"]["due_date"] == due.isoformat()
    assert metadata["users"] == [{"id": learner.pk, "name": "Ada", "email": "ada@example.org"}]
    # Graded ones only, with their time and score and never their results.
    assert metadata["previous_submissions"] == [
        {"submission_time": Submission.objects.get(pk=first.pk).created_at.isoformat(), "score": 4}
    ]
