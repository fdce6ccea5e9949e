"""A credential in a real browser: the learner who completed a track downloads it from
their record; someone not logged in pastes it on the verification page, on a phone, and
reads that it is genuine and whose it is; a changed one is refused. Passes are stored
without Docker."""

import shutil
from pathlib import Path

import pytest
from django.urls import reverse

from catalog.models import Lab
from catalog.sync import labs_sync
from records.models import SkillsRecord
from tests.browser.screens import SHOTS
from tests.browser.session import session_context
from tests.passes import graded

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
        graded(learner, lab)
    SkillsRecord.objects.create(user=learner, display_name="Ada Lovelace")
    context = session_context(browser, live_server, learner, viewport=PHONE, accept_downloads=True)
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
