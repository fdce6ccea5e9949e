"""The pages a Gradescope autograder brings, in a real browser on a desktop and a phone:
the staff import form and an import's log, the leaderboard, and a result whose checks
are written in markdown, HTML and ANSI colour. None may be wider than the screen. The
results and the import are stored without Docker or a worker."""

import pytest
from django.urls import reverse
from django.utils import timezone

from grading import leaderboard
from grading.intake import submission_create
from grading.models import AutograderImport, Submission, TestResult
from tests.browser.screens import SHOTS
from tests.browser.session import session_context

pytestmark = pytest.mark.browser

DIFF = "```diff\n--- expected\n+++ yours\n-2 5 28\n+2 4 28\n```"
WIDTHS = [pytest.param(1280, id="desktop"), pytest.param(390, id="phone")]
LOG = "\n".join(
    [
        "building downstack/gradescope-3f2a9c0b1d4e:5b8cc46d8b2a on downstack/debian-bookworm",
        "Get:1 http://mirror.example/debian bookworm InRelease [151 kB]",
        "Collecting gradescope-utils==0.5.0 (from -r requirements.txt (line 1)) "
        "Downloading gradescope_utils-0.5.0-py2.py3-none-any.whl (7.6 kB)",
        "Successfully installed gradescope-utils-0.5.0",
        "built downstack/gradescope-3f2a9c0b1d4e:5b8cc46d8b2a",
    ]
)


def open_page(browser, live_server, user, url: str, *, width: int, shot: str):
    context = session_context(browser, live_server, user, viewport={"width": width, "height": 900})
    page = context.new_page()
    response = page.goto(live_server.url + url)
    assert response.status == 200, shot
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / f"{shot}-{width}.png", full_page=True)
    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= width, f"{shot} is {wide} px wide on a {width} px screen"
    return context, page


@pytest.mark.parametrize("width", WIDTHS)
def test_the_import_pages_fit_and_say_what_happened(
    browser, live_server, staff, hello_lab, width
) -> None:
    AutograderImport.objects.create(
        created_by=staff,
        archive="autograder-imports/hw1.zip",
        archive_name="hw1-autograder.zip",
        slug="hw1",
        title="Homework 1",
        status=AutograderImport.Status.REFUSED,
        error="The zip's setup.sh and run_autograder are inside the folder hw1/.",
        strippable_folder="hw1",
    )
    imported = AutograderImport.objects.create(
        created_by=staff,
        archive="autograder-imports/hello.zip",
        archive_name="hello-autograder.zip",
        slug=hello_lab.slug,
        title=hello_lab.title,
        status=AutograderImport.Status.IMPORTED,
        log=LOG,
    )
    url = reverse("staff:autograder_import_new")
    context, page = open_page(browser, live_server, staff, url, width=width, shot="import-new")
    assert page.get_by_label("Autograder zip").is_visible()
    assert page.get_by_text("Recent imports").is_visible()
    page.goto(live_server.url + imported.get_absolute_url())
    page.screenshot(path=SHOTS / f"import-done-{width}.png", full_page=True)
    assert page.get_by_text("Imported.").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    refused = AutograderImport.objects.get(status="refused")
    page.goto(live_server.url + refused.get_absolute_url())
    page.screenshot(path=SHOTS / f"import-refused-{width}.png", full_page=True)
    assert page.get_by_role("button", name="Import what is inside hw1/").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_the_leaderboard_and_a_formatted_result_fit(
    browser, live_server, learner, other_learner, hello_lab, width
) -> None:
    rows = {learner: (0.912, 14.2), other_learner: (0.955, 21.0)}
    mine = None
    for user, (accuracy, seconds) in rows.items():
        submission = submission_create(user=user, lab=hello_lab, files={"logparse.py": b"1\n"})
        Submission.objects.filter(pk=submission.pk).update(
            status="graded",
            started_at=timezone.now(),
            finished_at=timezone.now(),
            duration_s=1.2,
            score=7,
            max_score=10,
            feedback="**Build**: ok. Two of three cases pass.",
            extras={
                "leaderboard": [
                    {"name": "Accuracy", "value": accuracy, "order": "desc"},
                    {"name": "Time (s)", "value": seconds, "order": "asc"},
                ]
            },
        )
        mine = mine or submission
    leaderboard.name_choose(user=other_learner, lab=hello_lab, name="Fast Fingers")
    for position, (name, output, fmt) in enumerate(
        [
            ("case one-line", "Output matches.", "text"),
            ("case spaces-and-tabs", DIFF, "md"),
            ("compiler warnings", "\x1b[1;33mwarning:\x1b[0m unused variable ‘n’", "ansi"),
            ("style", "<p>Use <code>const</code> where you can.</p>", "html"),
        ]
    ):
        TestResult.objects.create(
            submission=mine,
            position=position,
            name=name,
            score=1 if position != 1 else 0,
            max_score=1,
            status="passed" if position != 1 else "failed",
            output=output,
            output_format=fmt,
            visibility="visible",
        )

    url = reverse("grading:leaderboard", args=[hello_lab.slug])
    context, page = open_page(browser, live_server, learner, url, width=width, shot="leaderboard")
    assert page.get_by_text("Fast Fingers").is_visible()
    assert page.get_by_text("(you)").is_visible()
    page.goto(live_server.url + mine.get_absolute_url())
    page.screenshot(path=SHOTS / f"result-formats-{width}.png", full_page=True)
    assert page.locator(".ansi-bold.ansi-yellow").inner_text() == "warning:"
    assert page.locator(".output-html code").inner_text() == "const"
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    context.close()
