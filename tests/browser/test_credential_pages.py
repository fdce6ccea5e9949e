"""A credential in a real browser: the learner who completed a track downloads it from
their record; someone not logged in pastes it on the verification page, on a phone, and
reads that it is genuine and whose it is; a changed one is refused. Passes are stored
without Docker."""

import shutil
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from catalog.models import Lab
from catalog.sync import labs_sync
from grading.intake import submission_create
from grading.models import Submission
from grading.progress import labprogress_refresh
from records.models import SkillsRecord
from tests.browser.screens import SHOTS

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
PHONE = {"width": 390, "height": 844}


def test_a_downloaded_credential_verifies_and_a_changed_one_does_not(
    browser, live_server, learner, labs_dir
) -> None:
    for slug in ("inference-capacity", "gpu-gang-scheduling"):
        shutil.copytree(ROOT / "labs" / slug, labs_dir / slug)
    (labs_dir.parent / "tracks").mkdir()
    shutil.copy(ROOT / "tracks" / "ai-infrastructure.toml", labs_dir.parent / "tracks")
    labs_sync(root=labs_dir)
    for lab in Lab.objects.all():
        submission = submission_create(
            user=learner, lab=lab, files={name: b"1\n" for name in lab.submit_files}
        )
        Submission.objects.filter(pk=submission.pk).update(
            status="graded", score=10, max_score=10, finished_at=timezone.now()
        )
        labprogress_refresh(user_id=learner.pk, lab_id=lab.pk)
    SkillsRecord.objects.create(user=learner, display_name="Ada Lovelace")
    context = browser.new_context(viewport=PHONE, accept_downloads=True)
    client = Client()
    client.force_login(learner)
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME]
    context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])
    page = context.new_page()
    page.goto(live_server.url + reverse("records:mine"))
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / "record-credentials-390.png", full_page=True)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the credential").click()
    assert download.value.suggested_filename == "downstack-ai-infrastructure.jwt"
    token = Path(download.value.path()).read_text().strip()
    context.close()

    stranger = browser.new_context(viewport=PHONE).new_page()
    stranger.goto(live_server.url + reverse("records:verify"))
    stranger.fill("#id_credential", token)
    stranger.get_by_role("button", name="Verify").click()
    stranger.wait_for_selector("text=Genuine.")
    stranger.screenshot(path=SHOTS / "verify-genuine-390.png", full_page=True)
    facts = stranger.locator("dl.facts").inner_text()
    assert "Ada Lovelace" in facts and "AI infrastructure" in facts
    assert stranger.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    header, payload, signature = token.split(".")
    changed = ".".join(
        [header, payload[:-4] + ("AAAA" if payload[-4:] != "AAAA" else "BBBB"), signature]
    )
    stranger.fill("#id_credential", changed)
    stranger.get_by_role("button", name="Verify").click()
    stranger.wait_for_selector("text=Not genuine.")
    stranger.screenshot(path=SHOTS / "verify-refused-390.png", full_page=True)
    stranger.context.close()
