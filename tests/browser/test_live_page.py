"""A submission being graded, in a real browser: the checks finished so far, hidden ones
as counts, the check now running, and the page moving on to the result by itself."""

import pytest

from grading.intake import submission_create
from grading.models import Submission, TestResult
from tests.browser.screens import SHOTS
from tests.browser.session import log_in

pytestmark = pytest.mark.browser


def row(submission, position, name, *, passed=True, visibility="visible", output=""):
    TestResult.objects.create(
        submission=submission,
        position=position,
        name=name,
        score=1 if passed else 0,
        max_score=1,
        status="passed" if passed else "failed",
        output=output,
        visibility=visibility,
    )


@pytest.mark.parametrize("width", [1280, 390], ids=["desktop", "phone"])
def test_checks_appear_while_running_and_the_result_replaces_them(
    browser, live_server, learner, hello_lab, width
):
    submission = submission_create(user=learner, lab=hello_lab, files={"logparse.py": b"x"})
    Submission.objects.filter(pk=submission.pk).update(
        status="running", running_check="request lines with spaces"
    )
    row(submission, 0, "counts every request", output="1204 requests")
    row(submission, 1, "a hidden case", visibility="hidden")
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    log_in(page, live_server.url)
    page.goto(live_server.url + submission.get_absolute_url())
    live = page.inner_text("#live")
    assert "Now running: request lines with spaces" in live
    assert "Checks so far" in live and "counts every request" in live
    assert "Hidden checks so far: 1 passed, 0 failed." in live
    assert "a hidden case" not in live
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / f"live-checks-{width}.png", full_page=True)
    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= width, f"the running submission is {wide} px wide on a {width} px screen"

    # The grading ends: htmx swaps the result in without a reload.
    row(submission, 2, "request lines with spaces", passed=False, output="expected 3, got 2")
    Submission.objects.filter(pk=submission.pk).update(
        status="graded", score=2, max_score=3, running_check=""
    )
    page.wait_for_selector("text=Not passed yet", timeout=30_000)
    live = page.inner_text("#live")
    assert "Now running" not in live and "Checks so far" not in live
    assert "Hidden checks: 1 passed, 0 failed." in live
    context.close()
