"""Logging in through the page, as a person does, for the browser tests."""


def log_in(page, base: str, username: str = "ada") -> None:
    """Fill in the log-in form and wait for the home page. Test users' passwords are
    "<username>-password" (make_user in tests/conftest.py)."""
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", f"{username}-password")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def session_context(browser, live_server, user, **options):
    """A new browser context (``options`` as Playwright's new_context takes them) holding
    ``user``'s session, made without the log-in form; None as user: nobody logged in."""
    from django.conf import settings
    from django.test import Client

    context = browser.new_context(**options)
    if user is not None:
        client = Client()
        client.force_login(user)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])
    return context
