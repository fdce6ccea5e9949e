"""Late work in a real browser (Debian's Chromium through Playwright): the instructor's
dashboard, drill-down and both downloads, and the learner's progress and lab pages, mark
the same attempts late or not counted, with the reason. Screenshots land in
var/screenshots/ for people to look at."""

import csv
import io
import json

import pytest
from django.utils import timezone

from tests.browser.screens import SHOTS
from tests.browser.session import log_in

pytestmark = [pytest.mark.browser]


def download(page, link_text) -> str:
    with page.expect_download() as info:
        page.get_by_role("link", name=link_text).first.click()
    return open(info.value.path(), encoding="utf-8").read()


@pytest.mark.parametrize("width", [1280, 390], ids=["desktop", "phone"])
def test_late_work_is_marked_alike_on_every_page_and_in_both_exports(
    browser, live_server, transactional_db, cohort, instructor, learner, late_world, width
):
    base = live_server.url
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": width, "height": 900}, accept_downloads=True)
    page = context.new_page()
    log_in(page, base, "turing")

    page.goto(f"{base}/cohorts/{cohort.pk}/")
    ada = page.locator("table.heatmap tbody tr", has_text="ada")
    cells = ada.locator("td")
    assert cells.nth(0).locator("strong").inner_text() == "80"
    assert cells.nth(0).locator(".late").get_attribute("title") == (
        "the counted attempt was 2 days late, with the penalty taken"
    )
    assert cells.nth(1).locator("strong").inner_text() == "35"
    assert "+1 not counted" in cells.nth(1).inner_text()
    bob = page.locator("table.heatmap tbody tr", has_text="bob").locator("td")
    assert bob.nth(1).inner_text().startswith("–") and "+1 not counted" in bob.nth(1).inner_text()
    # One missed deadline of a lab that closes puts a learner at risk, with the reason.
    risks = page.locator("ul.risks").inner_text()
    assert "ada: missed the closed deadline of Lab shut" in risks
    assert "bob: missed the closed deadline of Lab shut" in risks
    page.screenshot(path=SHOTS / f"late-dashboard-{width}.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= width

    page.goto(f"{base}/cohorts/{cohort.pk}/assignments/")
    # Dates say which zone they are in, on the table and on the form.
    assert page.locator("table.attempt-table tbody tr").first.inner_text().count("UTC") == 2
    form = page.locator("form", has_text="Assign a lab").inner_text()
    assert "In UTC time (UTC+00:00); work after it is late." in form
    gradebook = list(csv.reader(io.StringIO(download(page, "gradebook"))))
    assert gradebook[1][:3] == ["ada", "80.00", "35.00"]
    assert "pen: the counted attempt was 2 days late" in gradebook[1][3]
    assert gradebook[2][:3] == ["bob", "", ""]
    results = json.loads(download(page, "results"))
    late = {(r["learner"], r["lab"], r["percent"]): r["late_work"] for r in results["results"]}
    assert late["ada", "pen", 100.0] == "2 days late: −20 points"
    assert late["bob", "shut", 35.0] == "1 day late, after the lab closed: not counted"

    page.goto(f"{base}/cohorts/{cohort.pk}/learners/{learner.pk}/")
    standing = page.locator("table.standing tbody tr")
    assert standing.nth(0).locator("td").nth(2).inner_text().startswith("80%")
    assert "not counted" in standing.nth(1).inner_text()
    assert page.get_by_text("2 days late: −20 points, counts 80%").count() == 1
    page.screenshot(path=SHOTS / f"late-drill-down-{width}.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    context.close()

    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    log_in(page, base, "ada")
    page.goto(f"{base}/cohorts/{cohort.pk}/me/")
    rows = page.locator("table.standing tbody tr")
    assert "80%" in rows.nth(0).inner_text() and "late" in rows.nth(0).inner_text()
    assert "35%" in rows.nth(1).inner_text()
    assert "1 attempt after the lab closed at its due date: not counted" in rows.nth(1).inner_text()
    page.screenshot(path=SHOTS / f"late-progress-{width}.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= width

    # The lab pages say, before anything is handed in, when the lab is due, or that it
    # closed and when, in the learner's zone.
    page.goto(f"{base}/labs/pen/")
    pen_due = timezone.localtime(late_world["pen"].due_at)
    due_line = page.locator("p.due").inner_text()
    assert due_line.startswith(f"Due {pen_due:%a} {pen_due.day} {pen_due:%b %Y, %H:%M} UTC")
    assert "late work loses 10% a started day" in due_line and "past due" in due_line
    page.goto(f"{base}/labs/shut/")
    due = timezone.localtime(late_world["shut"].due_at)
    notice = page.locator("p.notice.error").inner_text()
    assert notice.startswith(f"This lab closed on {due:%a} {due.day} {due:%b %Y, %H:%M}")
    page.screenshot(path=SHOTS / f"late-lab-page-{width}.png", full_page=True)
    context.close()
