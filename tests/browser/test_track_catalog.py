"""The catalog grouped by track in a real browser, on a desktop and a phone: each track
says where the learner stands and what to take next, and no page is wider than the
screen. The repository's labs and tracks are loaded; one pass is stored without Docker."""

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


@pytest.fixture
def catalog(labs_dir, learner):
    for path in (ROOT / "labs").iterdir():
        if (path / "lab.toml").is_file():
            shutil.copytree(path, labs_dir / path.name)
    shutil.copytree(ROOT / "tracks", labs_dir.parent / "tracks")
    report = labs_sync(root=labs_dir)
    assert not report.errors, report.errors
    graded(learner, Lab.objects.get(slug="hello-sandbox"))


@pytest.mark.parametrize("width", [pytest.param(1280, id="desktop"), pytest.param(390, id="phone")])
def test_the_catalog_shows_each_track_with_the_learner_s_place_and_next_lab(
    browser, live_server, learner, catalog, width
) -> None:
    context = session_context(
        browser, live_server, learner, viewport={"width": width, "height": 900}
    )
    page = context.new_page()
    page.goto(live_server.url + reverse("catalog:lab_list"))
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / f"track-catalog-{width}.png", full_page=True)

    assert page.evaluate("document.documentElement.scrollWidth") <= width
    tail = page.locator("section#track-tail-latency, section:has(h2#track-tail-latency)")
    assert "You have passed 1 of 4." in tail.locator(".track-place").inner_text()
    assert tail.get_by_role("link", name="The checkout service's p99 spike").first.is_visible()
    ai = page.locator("section:has(h2#track-ai-infrastructure)")
    assert "You have passed 0 of 2." in ai.locator(".track-place").inner_text()
    # A lab's page names its place on each of its tracks.
    page.goto(live_server.url + reverse("catalog:lab_detail", args=["heisenbug-race"]))
    page.screenshot(path=SHOTS / f"track-lab-page-{width}.png")  # its top, where it says
    steps = page.locator(".track-step").all_inner_texts()
    assert any("Reviewing AI-written code" in s and "not passed yet" in s for s in steps)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    context.close()
