"""A learner in a real browser (Debian's Chromium driven by Playwright), with and without JS.

Screenshots of each page land in var/screenshots/ so people can look at them.
"""

from pathlib import Path

import pytest

from tests.browser.screens import SHOTS
from tests.browser.session import log_in

LAB = Path(__file__).resolve().parents[2] / "labs" / "hello-sandbox"
pytestmark = [pytest.mark.browser, pytest.mark.docker, pytest.mark.worker]


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_learner_edits_submits_watches_and_sees_full_marks(
    browser, live_server, learner, hello_lab, grader_image, start_worker, javascript
):
    SHOTS.mkdir(parents=True, exist_ok=True)
    suffix = "" if javascript else "-nojs"
    solution = (LAB / "solution" / "logparse.py").read_text()
    context = browser.new_context(
        java_script_enabled=javascript, viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    base = live_server.url
    log_in(page, base)
    page.screenshot(path=SHOTS / f"catalog{suffix}.png", full_page=True)

    page.click("text=The access-log summary that lies")
    page.wait_for_selector("article.instructions h1")
    textarea = page.locator("textarea[name='editor:logparse.py']")
    if javascript:
        # The textarea became a CodeMirror editor; edit it as a person would.
        page.wait_for_selector(".cm-downstack .cm-content")
        assert not textarea.is_visible()
        page.click(".cm-downstack .cm-content")
        page.keyboard.press("Control+A")
        page.keyboard.insert_text(solution)
        # CodeMirror copies its text into the textarea once it has processed the input,
        # not necessarily before insert_text returns: wait for that, never race it.
        expect = pytest.importorskip("playwright.sync_api").expect
        expect(textarea).to_have_value(solution, timeout=60_000)
    else:
        assert "def parse_line(line):" in textarea.input_value()
        textarea.fill(solution)
    page.screenshot(path=SHOTS / f"lab{suffix}.png", full_page=True)

    page.click("text=Submit for grading")  # the worker is not running yet: it stays queued
    page.wait_for_url("**/submissions/*/")
    assert page.inner_text("h1 .status") == "Queued"
    assert "position 1" in page.inner_text(".phases")
    page.screenshot(path=SHOTS / f"submission-queued{suffix}.png", full_page=True)

    start_worker()
    page.wait_for_selector(".score", timeout=120_000)
    assert page.inner_text(".score") == "10 / 10"
    assert page.locator(".test.pass").count() == 6
    assert "Hidden checks: 6 passed, 0 failed." in page.inner_text("main")
    page.screenshot(path=SHOTS / f"submission-graded{suffix}.png", full_page=True)

    page.click("text=History")
    page.wait_for_selector(".chart svg")
    page.screenshot(path=SHOTS / f"history{suffix}.png", full_page=True)
    context.close()


def test_pages_read_well_in_dark_mode(browser, live_server, learner, hello_lab):
    context = browser.new_context(color_scheme="dark", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}{hello_lab.get_absolute_url()}")
    page.wait_for_selector(".cm-downstack .cm-content")
    # CodeMirror measures lines as they come into view; show it before the screenshot.
    page.locator(".cm-downstack").scroll_into_view_if_needed()
    page.wait_for_timeout(200)
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(21, 23, 26)"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / "lab-dark.png", full_page=True)
    context.close()
