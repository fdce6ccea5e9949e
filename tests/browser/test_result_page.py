"""A graded result in a real browser, on a phone and a desktop: the outcome, the way to
resubmit, the next lab, and no page wider than the screen. Stored without Docker."""

import pytest
from django.contrib.auth.models import User

from grading.intake import submission_create
from grading.models import Submission, TestResult
from tests.browser.screens import SHOTS
from tests.browser.session import log_in

pytestmark = pytest.mark.browser


def graded(user, lab, score, *, output):
    submission = submission_create(user=user, lab=lab, files={"logparse.py": b"print(1)\n"})
    Submission.objects.filter(pk=submission.pk).update(status="graded", score=score, max_score=10)
    TestResult.objects.create(
        submission=submission,
        position=0,
        name="request lines with spaces, escaped quotes and '-'",
        score=score,
        max_score=10,
        status="passed" if score == 10 else "failed",
        output=output,
        visibility="visible",
    )
    return submission


@pytest.mark.parametrize("width", [1280, 390], ids=["desktop", "phone"])
def test_a_result_shows_its_outcome_and_what_to_do_next(
    browser, live_server, learner, hello_lab, scratch_lab, width
):
    scratch_lab("queue-depth", "print(1)\n")
    failed = graded(learner, hello_lab, 6, output="requests: expected 1204, got 1187\n" + "x" * 300)
    passed = graded(learner, hello_lab, 10, output="All fields match.")
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    log_in(page, live_server.url)
    SHOTS.mkdir(parents=True, exist_ok=True)
    for name, submission in (("failed", failed), ("passed", passed)):
        page.goto(live_server.url + submission.get_absolute_url())
        page.screenshot(path=SHOTS / f"result-{name}-{width}.png", full_page=True)
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= width, f"the {name} result is {wide} px wide on a {width} px screen"
    assert "Next:" in page.inner_text(".next-steps")
    page.click(".next-steps >> text=Edit and resubmit this lab")
    page.wait_for_url(f"**{hello_lab.get_absolute_url()}#editor")
    context.close()
    assert User.objects.get(username="ada").submissions.count() == 2
