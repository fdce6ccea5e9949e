"""A refused submission in a real browser, with and without JavaScript: the learner lands
back on the lab page's own address with the reason and their text, and reloading that
page neither posts the form again nor shows the reason twice. Stored without Docker."""

import pytest

from grading.intake import submission_create
from grading.models import Submission
from tests.browser.screens import SHOTS
from tests.browser.session import log_in

pytestmark = pytest.mark.browser

TYPED = "print('my next idea')\n"


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_a_refused_submission_comes_back_to_the_lab_page_with_my_text(
    browser, live_server, learner, hello_lab, javascript
):
    expect = pytest.importorskip("playwright.sync_api").expect
    hello_lab.attempts_per_hour = 1
    hello_lab.save()
    submission_create(user=learner, lab=hello_lab, files={"logparse.py": b"# my first try\n"})
    suffix = "" if javascript else "-nojs"
    context = browser.new_context(
        java_script_enabled=javascript, viewport={"width": 390, "height": 900}
    )
    page = context.new_page()
    log_in(page, live_server.url)
    lab_url = live_server.url + hello_lab.get_absolute_url()
    page.goto(lab_url)
    textarea = page.locator("textarea[name='editor:logparse.py']")
    if javascript:
        page.click(".cm-downstack .cm-content")
        page.keyboard.press("Control+A")
        page.keyboard.insert_text(TYPED)
        expect(textarea).to_have_value(TYPED, timeout=60_000)
    else:
        textarea.fill(TYPED)

    # The form posts elsewhere; the refusal sends the browser back to the lab page.
    with page.expect_navigation(url=lab_url, timeout=60_000):
        page.click("text=Submit for grading")
    expect(page.locator(".error-box")).to_contain_text("You have used all 1 attempts")
    if javascript:
        expect(page.locator(".cm-downstack .cm-content")).to_contain_text("my next idea")
    assert textarea.input_value() == TYPED
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / f"lab-refused{suffix}.png", full_page=True)
    page.screenshot(path=SHOTS / f"lab-refused-top{suffix}.png")
    page.locator("#editor").screenshot(path=SHOTS / f"lab-refused-editor{suffix}.png")

    page.reload()
    expect(page.locator("article.instructions h1")).to_be_visible()
    assert page.locator(".error-box").count() == 0
    assert textarea.input_value() == "# my first try\n"
    assert Submission.objects.filter(user=learner).count() == 1
    context.close()


def test_a_refused_upload_names_the_file_and_keeps_my_editor_text(
    browser, live_server, learner, hello_lab
):
    submission_create(user=learner, lab=hello_lab, files={"logparse.py": b"# my first try\n"})
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    log_in(page, live_server.url)
    lab_url = live_server.url + hello_lab.get_absolute_url()
    page.goto(lab_url)
    page.set_input_files(
        "input[name='logparse.py']",
        files=[{"name": "logparse.py", "mimeType": "text/x-python", "buffer": b""}],
    )
    with page.expect_navigation(url=lab_url, timeout=60_000):
        page.click("text=Upload and submit")
    assert "logparse.py: The submitted file is empty." in page.inner_text("p.error")
    assert page.input_value("textarea[name='editor:logparse.py']") == "# my first try\n"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / "lab-refused-upload.png", full_page=True)
    page.reload()
    assert page.locator("p.error").count() == 0
    assert Submission.objects.filter(user=learner).count() == 1
    context.close()
