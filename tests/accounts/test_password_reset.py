"""Password reset by email: a link to the account's address, the same answer whether or
not the address belongs to anyone, and the log-in throttling applied to requests. Email
goes to the console by default and to SMTP when EMAIL_HOST is set."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core import mail
from django.urls import reverse

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_counts")]

ROOT = Path(__file__).resolve().parents[2]
# Written out on purpose: requests per email, and per address, per 15 minutes.
EMAIL_LIMIT = 5
ADDRESS_LIMIT = 20


@pytest.fixture
def ada(learner):
    learner.email = "ada@example.org"
    learner.save()
    return learner


def ask(client, email, address="203.0.113.7"):
    return client.post(reverse("password_reset"), {"email": email}, REMOTE_ADDR=address)


def test_a_reset_link_is_emailed_and_sets_a_new_password(client, ada):
    response = ask(client, "ADA@example.org")
    assert response.status_code == 302
    assert response["Location"] == reverse("password_reset_done")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ada@example.org"]
    assert message.subject == "Reset your Downstack password"
    link = re.search(r"http://testserver(/password-reset/\S+/)", message.body).group(1)

    form = client.get(link, follow=True)
    assert "Choose a new password" in form.content.decode()
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "a fresh long passphrase", "new_password2": "a fresh long passphrase"},
    )
    assert done["Location"] == reverse("password_reset_complete")
    ada.refresh_from_db()
    assert ada.check_password("a fresh long passphrase")
    # The link works once.
    again = client.get(link, follow=True)
    assert "This link does not work" in again.content.decode()


def test_an_unknown_address_gets_the_same_answer_and_no_email(client, ada):
    known = ask(client, "ada@example.org")
    unknown = ask(client, "nobody@example.org")
    assert (unknown.status_code, unknown["Location"]) == (known.status_code, known["Location"])
    assert [m.to for m in mail.outbox] == [["ada@example.org"]]
    page = client.get(reverse("password_reset_done")).content.decode()
    assert "If an account uses that address" in page


def test_reset_requests_for_one_email_are_throttled(client, ada):
    for _ in range(EMAIL_LIMIT):
        assert ask(client, "ada@example.org").status_code == 302
    response = ask(client, " Ada@Example.org ")
    assert response.status_code == 429
    assert "Too many password-reset requests. Wait 15 minutes" in response.content.decode()
    assert len(mail.outbox) == EMAIL_LIMIT
    # From another address, the same mailbox is still protected.
    assert ask(client, "ada@example.org", address="198.51.100.2").status_code == 429


def test_reset_requests_from_one_address_are_throttled(client, ada):
    for index in range(ADDRESS_LIMIT):
        assert ask(client, f"guess-{index}@example.org").status_code == 302
    assert ask(client, "ada@example.org").status_code == 429
    assert mail.outbox == []
    assert ask(client, "ada@example.org", address="198.51.100.2").status_code == 302


def test_the_reset_pages_are_styled_like_the_site(client):
    for name in ("password_reset", "password_reset_done", "password_reset_complete"):
        text = client.get(reverse(name)).content.decode()
        assert 'class="narrow card"' in text and "css/downstack.css" in text, name


def settings_with(**env) -> dict[str, str]:
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.EMAIL_BACKEND, s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_USE_TLS, s.SIGNUP, "
        "s.DEFAULT_FROM_EMAIL, sep='|')"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("EMAIL_", "SIGNUP"))}
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, "DJANGO_SETTINGS_MODULE": "downstack.settings", **env},
        cwd=ROOT / "platform",
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode:
        return {"error": result.stderr}
    keys = ("backend", "host", "port", "tls", "signup", "from")
    return dict(zip(keys, result.stdout.strip().split("|"), strict=True))


def test_email_goes_to_the_console_and_sign_up_is_by_invite_by_default():
    got = settings_with()
    assert got["backend"] == "django.core.mail.backends.console.EmailBackend"
    assert got["signup"] == "invite"


def test_smtp_is_set_from_the_environment():
    got = settings_with(
        EMAIL_HOST="smtp.example.org",
        EMAIL_USE_TLS="true",
        DEFAULT_FROM_EMAIL="Bootcamp <noreply@example.org>",
    )
    assert got["backend"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (got["host"], got["port"], got["tls"]) == ("smtp.example.org", "587", "True")
    assert got["from"] == "Bootcamp <noreply@example.org>"
    assert settings_with(EMAIL_HOST="smtp.example.org", EMAIL_PORT="2525")["port"] == "2525"


@pytest.mark.parametrize(
    ("env", "named"), [({"SIGNUP": "maybe"}, "SIGNUP"), ({"EMAIL_PORT": "smtp"}, "EMAIL_PORT")]
)
def test_a_bad_value_stops_start_up_naming_the_variable(env, named):
    error = settings_with(**env)["error"]
    assert "ImproperlyConfigured" in error and named in error
