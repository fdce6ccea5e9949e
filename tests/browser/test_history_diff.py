"""A learner's history of one lab in a real browser: the diff of two attempts numbers its
lines, puts older beside newer on a wide screen and one under the other on a phone, and
never makes the page wider than the screen. The attempts are stored without Docker."""

import pytest
from django.urls import reverse

from grading.intake import submission_create
from grading.models import Submission
from tests.browser.screens import SHOTS
from tests.browser.session import log_in

pytestmark = pytest.mark.browser

OLDER = "".join(f"line {n}\n" for n in range(1, 41)) + "total = sum(values)\n"
NEWER = (
    "".join(f"line {n}\n" for n in range(1, 41) if n != 4).replace("line 30", "line thirty")
    + "total = sum(values)  # "
    + "a comment long enough to wrap on any screen " * 4
    + "\nprint(total)\n"
)


def graded(user, lab, text: str, score: int) -> Submission:
    submission = submission_create(user=user, lab=lab, files={"logparse.py": text.encode()})
    Submission.objects.filter(pk=submission.pk).update(status="graded", score=score, max_score=10)
    return submission


@pytest.mark.parametrize("width", [1280, 390], ids=["desktop", "phone"])
def test_history_diff_numbers_lines_and_fits_the_screen(
    browser, live_server, learner, hello_lab, width
):
    graded(learner, hello_lab, OLDER, 4)
    graded(learner, hello_lab, NEWER, 7)
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    log_in(page, live_server.url)
    page.goto(live_server.url + reverse("grading:history", args=[hello_lab.slug]))
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / f"history-diff-{width}.png", full_page=True)

    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= width, f"the history page is {wide} px wide on a {width} px screen"
    table = page.locator(".diff-split" if width > 900 else ".diff-unified")
    assert table.is_visible()
    assert not page.locator(".diff-unified" if width > 900 else ".diff-split").is_visible()
    assert table.locator("tr.d-hunk").first.inner_text().startswith("@@ -1,")

    # Removed lines say so in words, not only in colour.
    removed = table.locator("tr.d-del, td.code.d-del", has_text="line 4")
    assert removed.count() == 1
    assert "removed" in removed.locator("xpath=ancestor-or-self::tr").inner_text()
    if width > 900:
        # Side by side: the replaced line faces its replacement, each with its own number.
        row = table.locator("tr", has=page.locator("td.code.d-del", has_text="line 30"))
        cells = row.locator("td").all_inner_texts()
        assert cells[0] == "30" and cells[2] == "line 30"
        assert cells[3] == "29" and cells[5] == "line thirty"
        old_box = row.locator("td.code").nth(0).bounding_box()
        new_box = row.locator("td.code").nth(1).bounding_box()
        assert old_box and new_box and old_box["x"] + old_box["width"] <= new_box["x"]
        assert abs(old_box["y"] - new_box["y"]) < 1
    else:
        # One column: the old and new numbers of each line, then the line.
        cells = table.locator("tr", has_text="line thirty").locator("td").all_inner_texts()
        assert cells[0] == "" and cells[1] == "29" and cells[3] == "line thirty"
        same = table.locator("tr", has_text="line 31").locator("td").all_inner_texts()
        assert same[:2] == ["31", "30"]
    context.close()
