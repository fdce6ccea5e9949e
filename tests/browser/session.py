"""Logging in through the page, as a person does, for the browser tests."""


def log_in(page, base: str, username: str = "ada") -> None:
    """Fill in the log-in form and wait for the home page. Test users' passwords are
    "<username>-password" (make_user in tests/conftest.py)."""
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", f"{username}-password")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
