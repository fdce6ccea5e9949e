"""A learner's skills record: the skills their passed labs show with the evidence, and
the record they publish at an unguessable link, which shows exactly what they chose
(their chosen name and labs), nothing of their account, checks or files, until revoked."""

import shutil
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from catalog.models import Lab
from catalog.sync import labs_sync
from grading.intake import submission_create
from grading.models import Submission, TestResult
from grading.progress import labprogress_refresh
from records.models import SkillsRecord

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def labs(labs_dir):
    for slug in ("hello-sandbox", "gc-p99-spike", "retry-storm"):
        shutil.copytree(ROOT / "labs" / slug, labs_dir / slug)
    labs_sync(root=labs_dir)
    return {lab.slug: lab for lab in Lab.objects.all()}


def attempt(user, lab, score, *, check="SECRET-CHECK-NAME") -> Submission:
    files = {name: b"FILE-CONTENT-MARKER\n" for name in lab.submit_files}
    submission = submission_create(user=user, lab=lab, files=files)
    Submission.objects.filter(pk=submission.pk).update(
        status="graded", score=score, max_score=10, finished_at=timezone.now()
    )
    TestResult.objects.create(
        submission=submission,
        position=0,
        name=check,
        score=0,
        max_score=1,
        status="failed",
        output="HIDDEN-OUTPUT",
        visibility="hidden",
    )
    labprogress_refresh(user_id=user.pk, lab_id=lab.pk)
    return submission


def test_the_record_shows_each_skill_with_its_evidence(client, learner, labs) -> None:
    attempt(learner, labs["hello-sandbox"], 6)
    attempt(learner, labs["hello-sandbox"], 10)
    attempt(learner, labs["gc-p99-spike"], 4)  # not passed: shows nothing yet
    client.force_login(learner)

    text = client.get(reverse("records:mine")).content.decode()

    for skill in labs["hello-sandbox"].skills:
        assert f"<h3>{skill}</h3>" in text
    assert "best score 100%" in text and "in 2 attempts" in text
    assert "garbage-collection" not in text  # gc-p99-spike's skills: not passed


def test_a_published_record_shows_exactly_what_the_learner_chose_until_revoked(
    client, learner, other_learner, labs
) -> None:
    attempt(learner, labs["hello-sandbox"], 10)
    attempt(learner, labs["retry-storm"], 10)
    attempt(other_learner, labs["gc-p99-spike"], 10)
    client.force_login(learner)
    url = reverse("records:mine")
    chosen = [labs["hello-sandbox"].pk, labs["gc-p99-spike"].pk]  # gc: not theirs to show

    nameless = client.post(url, {"action": "publish", "display_name": " ", "labs": chosen})
    client.post(url, {"action": "publish", "display_name": "Ada  L.", "labs": chosen})

    assert "Give the name" in nameless.content.decode() and nameless.status_code == 400
    record = SkillsRecord.objects.get(user=learner)
    assert record.is_published and len(record.token) >= 40
    assert set(record.shown_labs.values_list("slug", flat=True)) == {"hello-sandbox"}
    client.logout()
    public = client.get(record.public_url())
    text = public.content.decode()
    assert public.status_code == 200 and "Ada L." in text
    assert labs["hello-sandbox"].title in text
    assert labs["retry-storm"].title not in text  # passed, but not chosen
    assert labs["gc-p99-spike"].title not in text  # another learner's
    for secret in ("ada", "linus", "SECRET-CHECK-NAME", "HIDDEN-OUTPUT", "FILE-CONTENT-MARKER"):
        assert secret not in text.split("<main>", 1)[1], secret

    client.force_login(learner)
    old = record.public_url()
    client.post(url, {"action": "revoke"})
    assert client.get(old).status_code == 404
    client.post(url, {"action": "publish", "display_name": "Ada L.", "labs": chosen})
    record.refresh_from_db()
    assert record.public_url() != old and client.get(record.public_url()).status_code == 200


def test_every_passed_lab_is_offered_ticked_until_the_learner_chooses(
    client, learner, labs
) -> None:
    attempt(learner, labs["hello-sandbox"], 10)
    client.force_login(learner)

    first = client.get(reverse("records:mine")).content.decode()
    client.post(reverse("records:mine"), {"action": "save", "display_name": "Ada"})
    after = client.get(reverse("records:mine")).content.decode()

    box = f'value="{labs["hello-sandbox"].pk}" checked'
    assert box in first and box not in after
    assert not SkillsRecord.objects.get(user=learner).is_published  # saving publishes nothing
