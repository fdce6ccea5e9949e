"""Log-in limits per address. tests/accounts/test_login_throttle.py covers the limit per
username; guessing many usernames from one address is limited too. The token API has
nothing to throttle: its keys are 32 random bytes, checked by hash, never guessed."""

import pytest
from django.urls import reverse

from accounts.throttle import MAX_ADDRESS_FAILURES, MAX_FAILURES

pytestmark = pytest.mark.django_db


def attempt(client, username, password, address):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address
    )


def test_guessing_many_usernames_from_one_address_is_stopped(client, learner, other_learner):
    guesses_per_name = MAX_FAILURES - 1  # never enough to lock one username
    tried = 0
    while tried < MAX_ADDRESS_FAILURES:
        name = f"guess-{tried // guesses_per_name}"
        assert attempt(client, name, "wrong", "203.0.113.7").status_code == 200
        tried += 1
    # From that address even a right password is refused now, and not checked.
    response = attempt(client, "ada", "ada-password", "203.0.113.7")
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    # Another address is not affected.
    assert attempt(client, "linus", "linus-password", "198.51.100.2").status_code == 302


def test_logging_in_to_ones_own_account_does_not_wipe_the_address_count(client, learner):
    for i in range(MAX_ADDRESS_FAILURES - 1):
        attempt(client, f"guess-{i}", "wrong", "203.0.113.7")
    assert attempt(client, "ada", "ada-password", "203.0.113.7").status_code == 302
    client.logout()
    assert attempt(client, "guess-x", "wrong", "203.0.113.7").status_code == 200
    assert attempt(client, "ada", "ada-password", "203.0.113.7").status_code == 429
