"""A learner in a real browser (Debian's Chromium driven by Playwright), with and without JS.

Screenshots of each page land in var/screenshots/ so people can look at them.
"""

import os
from pathlib import Path

import pytest

LAB = Path(__file__).resolve().parents[2] / "labs" / "hello-sandbox"
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
pytestmark = [pytest.mark.browser, pytest.mark.docker, pytest.mark.worker]


@pytest.fixture(scope="module")
def browser():
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make host` to install Debian's chromium")
    # Playwright's sync API runs an event loop in this thread; the ORM calls made by
    # fixtures here are still synchronous and safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


def log_in(page, base):
    page.goto(f"{base}/login/")
    page.fill("#id_username", "ada")
    page.fill("#id_password", "ada-password")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
@pytest.mark.parametrize("scheme", ["light"])
def test_learner_submits_the_reference_and_sees_full_marks(
    browser, live_server, learner, hello_lab, grader_image, start_worker, javascript, scheme
):
    SHOTS.mkdir(parents=True, exist_ok=True)
    suffix = "" if javascript else "-nojs"
    start_worker()
    context = browser.new_context(
        java_script_enabled=javascript, color_scheme=scheme, viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    base = live_server.url
    log_in(page, base)
    page.screenshot(path=SHOTS / f"catalog{suffix}.png", full_page=True)

    page.click("text=The access-log summary that lies")
    page.wait_for_selector("article.instructions h1")
    page.screenshot(path=SHOTS / f"lab{suffix}.png", full_page=True)

    page.set_input_files("input[name='logparse.py']", str(LAB / "solution" / "logparse.py"))
    page.click("text=Submit for grading")
    page.wait_for_url("**/submissions/*/")
    page.screenshot(path=SHOTS / f"submission-pending{suffix}.png", full_page=True)

    page.wait_for_selector(".score", timeout=120_000)
    assert page.inner_text(".score") == "10 / 10"
    assert page.locator(".test.pass").count() == 4
    assert "Hidden checks: 2 passed, 0 failed." in page.inner_text("main")
    page.screenshot(path=SHOTS / f"submission-graded{suffix}.png", full_page=True)
    context.close()


def test_pages_read_well_in_dark_mode(browser, live_server, learner, hello_lab):
    context = browser.new_context(color_scheme="dark", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}{hello_lab.get_absolute_url()}")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(21, 23, 26)"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / "lab-dark.png", full_page=True)
    context.close()
