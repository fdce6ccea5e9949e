"""The whole way: web upload -> broker -> a real Celery worker -> Docker -> the result page."""

from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from catalog.labfiles import load_lab
from grading.models import Submission
from grading.queue import submission_send
from grading.reaper import submissions_reap
from tests.worker_process import finished, wait_for

LAB = Path(__file__).resolve().parents[2] / "labs" / "hello-sandbox"
pytestmark = [pytest.mark.docker, pytest.mark.worker]


def upload(client, lab, part):
    data = (LAB / part / "logparse.py").read_bytes()
    response = client.post(
        reverse("catalog:submission_create", args=[lab.slug]),
        {"logparse.py": SimpleUploadedFile("logparse.py", data)},
    )
    assert response.status_code == 302, response.content[:500]
    return Submission.objects.get(pk=response["Location"].rstrip("/").rsplit("/", 1)[1])


def test_reference_and_variant_through_a_real_worker(
    client, learner, hello_lab, grader_image, start_worker
):
    worker = start_worker()
    client.force_login(learner)
    reference = upload(client, hello_lab, "solution")
    variant = upload(client, hello_lab, "variants/off-by-one-percentile")

    reference = wait_for(finished(reference.pk))
    variant = wait_for(finished(variant.pk))

    assert reference.status == "graded" and reference.score == 10, worker.output()[-3000:]
    spec = load_lab(settings.LABS_DIR / "hello-sandbox")
    declared = next(v for v in spec.variants if v.name == "off-by-one-percentile")
    low, high = declared.min_score, declared.max_score
    assert variant.status == "graded" and low <= variant.score <= high
    page = client.get(reference.get_absolute_url()).content.decode()
    assert "10 / 10" in page and "refresh" not in page
    page = client.get(variant.get_absolute_url()).content.decode()
    assert f"{variant.score:g} / 10" in page
    assert "Hidden checks:" in page


def test_duplicate_messages_through_the_broker_grade_once(
    learner, hello_lab, grader_image, start_worker
):
    from grading.intake import submission_create

    submission = submission_create(
        user=learner,
        lab=hello_lab,
        files={"logparse.py": (LAB / "solution/logparse.py").read_bytes()},
    )
    submission_send(submission_id=submission.pk)  # a second message for the same row
    worker = start_worker()
    graded = wait_for(finished(submission.pk))
    wait_for(lambda: worker.output().count("succeeded") >= 2, timeout=60)
    graded.refresh_from_db()
    assert graded.deliveries == 1 and graded.tests.count() == 12
    assert "nothing to claim" in worker.output()


def test_worker_without_docker_keeps_the_submission_then_grades_it_when_docker_is_back(
    learner, hello_lab, grader_image, start_worker
):
    from grading.intake import submission_create

    broken = start_worker(DOCKER_HOST="unix:///nonexistent/docker.sock")
    submission = submission_create(
        user=learner,
        lab=hello_lab,
        files={"logparse.py": (LAB / "solution/logparse.py").read_bytes()},
    )

    def failed_once():
        """a recorded infrastructure failure"""
        return Submission.objects.get(pk=submission.pk).infra_failures >= 1

    wait_for(failed_once, timeout=60)
    broken.stop()
    kept = Submission.objects.get(pk=submission.pk)
    assert kept.status == "queued" and "will retry" in kept.status_detail
    assert "Retry in" in broken.output()
    assert kept.files.count() == 1

    start_worker()
    # The broken worker's retry message may be gone with it; the reaper sends it again.
    from datetime import timedelta

    from django.utils import timezone

    submissions_reap(now=timezone.now() + timedelta(seconds=settings.GRADING_REQUEUE_AFTER_S + 1))
    graded = wait_for(finished(submission.pk))
    assert graded.status == "graded" and graded.score == 10
    assert graded.counts_as_attempt()
