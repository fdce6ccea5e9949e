"""A new API token on the account page, in a real browser: with JavaScript a "Copy" button
puts it on the clipboard and says so; without, there is no button and the token is plain
text to select."""

import pytest
from django.urls import reverse

from accounts.models import ApiToken
from tests.browser.screens import SHOTS
from tests.browser.session import log_in

pytestmark = pytest.mark.browser


def new_token_page(browser, live_server, *, width: int, javascript: bool):
    context = browser.new_context(
        java_script_enabled=javascript, viewport={"width": width, "height": 900}
    )
    if javascript:
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page = context.new_page()
    log_in(page, live_server.url)
    page.goto(live_server.url + reverse("accounts:account"))
    page.fill("#id_name", "laptop")
    page.click("text=Create token")
    page.wait_for_selector("pre.token")
    return context, page


@pytest.mark.parametrize("width", [1280, 390], ids=["desktop", "phone"])
def test_copy_button_puts_the_new_token_on_the_clipboard(browser, live_server, learner, width):
    expect = pytest.importorskip("playwright.sync_api").expect
    context, page = new_token_page(browser, live_server, width=width, javascript=True)
    token = page.inner_text("pre.token")
    assert ApiToken.objects.get(user=learner).prefix in token
    status = page.locator("#new-token-copied")
    assert status.get_attribute("role") == "status"
    expect(status).to_have_text("")
    page.get_by_role("button", name="Copy the token").click()
    expect(status).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == token
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / f"account-token-copied-{width}.png", full_page=True)
    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= width, f"the account page is {wide} px wide on a {width} px screen"
    context.close()


def test_without_javascript_the_token_is_selectable_text_and_no_button(
    browser, live_server, learner
):
    context, page = new_token_page(browser, live_server, width=390, javascript=False)
    button = page.locator("button[data-copy]")
    assert button.count() == 1 and not button.is_visible()
    token = page.locator("pre.token")
    assert token.is_visible() and ApiToken.objects.get(user=learner).prefix in token.inner_text()
    assert token.evaluate("element => getComputedStyle(element).userSelect") == "all"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / "account-token-nojs-390.png", full_page=True)
    context.close()
