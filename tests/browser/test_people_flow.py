"""A new instructor and a new learner in a real browser (Debian's Chromium driven by
Playwright): the instructor creates a cohort and copies its invite link; the learner opens
it logged out, signs up and lands in the cohort; the instructor sees them on the roster.

Run at a desktop and a phone viewport, with and without JavaScript; no page may be wider
than the phone's screen. Screenshots land in var/screenshots/ so people can look at them.
"""

import pytest
from django.contrib.auth.models import Permission

from tests.browser.screens import SHOTS

PHONE_WIDTH = 390
pytestmark = pytest.mark.browser


@pytest.fixture
def new_instructor(make_user):
    """Someone staff made an instructor by granting cohorts.create_cohort in the admin."""
    user = make_user("noether")
    user.user_permissions.add(Permission.objects.get(codename="create_cohort"))
    return user


class Walk:
    """One person's pages: a screenshot of each, and the width check on the phone."""

    def __init__(self, page, name: str, width: int):
        self.page, self.name, self.width = page, name, width

    def look(self, step: str) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=SHOTS / f"people-{self.name}-{step}.png", full_page=True)
        if self.width <= PHONE_WIDTH:
            wide = self.page.evaluate("document.documentElement.scrollWidth")
            assert wide <= self.width, f"{step} is {wide} px wide on a {self.width} px screen"


@pytest.mark.parametrize(
    ("width", "javascript"),
    [(1280, True), (PHONE_WIDTH, True), (PHONE_WIDTH, False)],
    ids=["desktop", "phone", "phone-no-js"],
)
def test_a_new_instructor_invites_by_link_and_sees_the_invitee_sign_up_and_join(
    browser, live_server, new_instructor, width, javascript
):
    base = live_server.url
    suffix = {1280: "desktop", PHONE_WIDTH: "phone"}[width] + ("" if javascript else "-nojs")
    viewport = {"width": width, "height": 900}

    teacher_context = browser.new_context(java_script_enabled=javascript, viewport=viewport)
    teacher = Walk(teacher_context.new_page(), f"{suffix}-instructor", width)
    page = teacher.page
    page.goto(f"{base}/login/")
    teacher.look("login")
    page.fill("#id_username", "noether")
    page.fill("#id_password", "noether-password")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")

    page.click("nav >> text=Cohorts")
    page.wait_for_url(f"{base}/cohorts/")
    teacher.look("cohorts")
    page.click("a.button:has-text('Create a cohort')")
    page.fill("#id_name", "Winter systems")
    teacher.look("create")
    page.click("text=Create the cohort")
    page.wait_for_url("**/people/")
    assert "Created Winter systems" in page.inner_text("main")
    page.click("button:has-text('Create an invite')")
    page.wait_for_selector("td.invite-link a")
    teacher.look("roster-invite")
    invite_link = page.inner_text("td.invite-link a")  # what an instructor copies
    assert invite_link.startswith(f"{base}/cohorts/join/")

    # The invitee: a fresh browser, never logged in.
    learner_context = browser.new_context(java_script_enabled=javascript, viewport=viewport)
    learner = Walk(learner_context.new_page(), f"{suffix}-invitee", width)
    page = learner.page
    page.goto(invite_link)
    assert "Join Winter systems" in page.inner_text("h1")
    learner.look("invitation")
    page.click("text=Create an account and join")
    page.wait_for_selector("text=Sign up and join Winter systems")
    page.fill("#id_username", "emmy")
    page.fill("#id_email", "emmy@example.org")
    page.fill("#id_password1", "a long unusual passphrase")
    page.fill("#id_password2", "a long unusual passphrase")
    learner.look("signup")
    page.click("button[type=submit]")
    page.wait_for_url("**/cohorts/*/me/")
    assert "Winter systems" in page.inner_text("h1")
    assert "you joined Winter systems" in page.inner_text("main")
    learner.look("landed")
    learner_context.close()

    page = teacher.page
    page.reload()
    assert "emmy" in page.inner_text("table.attempt-table")
    teacher.look("roster-joined")
    page.click(".cohort-nav >> text=Dashboard")
    page.wait_for_selector("h1")
    teacher.look("dashboard")

    # Archive: off the list, found under "Show archived", restored.
    page.click(".cohort-nav >> text=Settings")
    page.wait_for_selector("h1:has-text('Settings')")
    teacher.look("settings")
    page.click("button:has-text('Archive the cohort')")
    page.wait_for_url(f"{base}/cohorts/")
    assert "Archived Winter systems" in page.inner_text("main")
    assert page.locator("ul.cohort-rows >> text=Winter systems").count() == 0
    teacher.look("archived")
    page.click("a:has-text('Show archived cohorts')")
    teacher.look("show-archived")
    page.click("button:has-text('Restore')")
    page.wait_for_selector("text=Restored Winter systems")
    page.click(".crumbs >> text=Cohorts")
    assert page.locator("ul.cohort-rows >> text=Winter systems").count() == 1
    teacher_context.close()


def test_reset_and_sign_up_pages_fit_a_phone(browser, live_server):
    context = browser.new_context(viewport={"width": PHONE_WIDTH, "height": 900})
    walk = Walk(context.new_page(), "phone-visitor", PHONE_WIDTH)
    page = walk.page
    page.goto(f"{live_server.url}/login/")
    page.click("text=Forgot your password?")
    page.fill("#id_email", "nobody@example.org")
    walk.look("reset")
    page.click("button[type=submit]")
    page.wait_for_url("**/password-reset/sent/")
    walk.look("reset-sent")
    page.goto(f"{live_server.url}/signup/")
    walk.look("signup-without-invite")
    page.goto(f"{live_server.url}/cohorts/join/no-such-code/")
    assert "This invite code is not known" in page.inner_text("main")
    walk.look("bad-invite")
    page.goto(f"{live_server.url}/no-such-page/")
    assert "Page not found" in page.inner_text("main")
    walk.look("not-found")
    page.click("text=Back to the labs")
    page.wait_for_url("**/login/?next=/")
    context.close()
