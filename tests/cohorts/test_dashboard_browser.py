"""The cohort dashboard in a real browser (Debian's Chromium through Playwright), light and
dark, with screenshots in var/screenshots/ for people to look at."""

import pytest

from tests.browser.screens import SHOTS
from tests.browser.session import log_in

pytestmark = [pytest.mark.browser]


@pytest.fixture
def synthetic(transactional_db, make_user):
    from cohorts.models import Membership
    from cohorts.synthetic import cohort_synth

    teacher = make_user("turing")
    report = cohort_synth(learners=40, labs=6, attempts=12, name="Demo cohort", seed=3)
    report.cohort.add_member(teacher, Membership.Role.INSTRUCTOR)
    return report.cohort


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_dashboard_draws_its_heatmap_and_charts(browser, live_server, synthetic, scheme):  # noqa: F811
    context = browser.new_context(color_scheme=scheme, viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    log_in(page, live_server.url, "turing")
    page.goto(f"{live_server.url}/cohorts/{synthetic.pk}/?sort=risk")
    page.wait_for_selector("table.heatmap")
    assert page.locator("table.heatmap tbody tr").count() == 40
    assert page.locator("figure.cohort-chart svg").count() == 1 + 6
    assert page.locator("table.skill-bars tbody tr").count() >= 1
    # Every chart is drawn with a real size, not collapsed to nothing.
    for box in page.locator("figure.cohort-chart svg").all():
        assert box.bounding_box()["height"] > 50
    SHOTS.mkdir(parents=True, exist_ok=True)
    suffix = "" if scheme == "light" else "-dark"
    page.screenshot(path=SHOTS / f"cohort-dashboard{suffix}.png", full_page=True)
    page.screenshot(path=SHOTS / f"cohort-dashboard-top{suffix}.png")
    page.locator(".overview").screenshot(path=SHOTS / f"cohort-overview{suffix}.png")
    page.locator(".lab-stats").first.screenshot(path=SHOTS / f"cohort-lab{suffix}.png")
    learner = page.locator("table.heatmap tbody tr th a").first
    learner.click()
    page.wait_for_selector("section.learner-lab")
    page.screenshot(path=SHOTS / f"cohort-learner{suffix}.png")
    context.close()
