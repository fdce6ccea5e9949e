"""The skills record in a real browser: a learner publishes it, on a phone, choosing the
name and the labs; the link opens for someone not logged in and shows only those; no
page is wider than the screen. Passes are stored without Docker."""

import shutil
from pathlib import Path

import pytest
from django.urls import reverse

from catalog.models import Lab
from catalog.sync import labs_sync
from tests.browser.screens import SHOTS
from tests.browser.session import session_context
from tests.passes import graded

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
PHONE = {"width": 390, "height": 844}


def passed(user, lab: Lab, attempts: int) -> None:
    for number in range(attempts):
        graded(user, lab, score=10 if number == attempts - 1 else 5)


def test_a_learner_publishes_the_record_and_a_stranger_reads_only_what_they_chose(
    browser, live_server, learner, labs_dir
) -> None:
    for slug in ("hello-sandbox", "gc-p99-spike", "retry-storm"):
        shutil.copytree(ROOT / "labs" / slug, labs_dir / slug)
    labs_sync(root=labs_dir)
    passed(learner, Lab.objects.get(slug="hello-sandbox"), 1)
    passed(learner, Lab.objects.get(slug="gc-p99-spike"), 3)
    passed(learner, Lab.objects.get(slug="retry-storm"), 2)
    context = session_context(browser, live_server, learner, viewport=PHONE)
    page = context.new_page()
    page.goto(live_server.url + reverse("records:mine"))
    page.fill("#id_display_name", "Ada Lovelace")
    page.get_by_label("The retry storm that would not die").uncheck()
    page.get_by_role("button", name="Publish").click()
    page.wait_for_selector("text=Published since")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / "record-mine-390.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    link = page.locator("a[href^='/r/']").first.get_attribute("href")
    context.close()

    stranger = browser.new_context(viewport=PHONE).new_page()  # not logged in
    stranger.goto(live_server.url + link)
    stranger.screenshot(path=SHOTS / "record-public-390.png", full_page=True)
    body = stranger.locator("main").inner_text()
    assert "Ada Lovelace" in body and "garbage-collection" in body and "in 3 attempts" in body
    assert "retry storm" not in body.lower() and "ada\n" not in body
    assert stranger.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    stranger.context.close()
