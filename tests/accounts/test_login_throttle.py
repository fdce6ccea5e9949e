"""Log-in is rate limited: 5 failures lock a username and 20 lock an address, for the
15 minutes that start with the first of them.

The counts live in the in-process cache here, on a clock each test moves by hand, so the
window is tested without sleeping.
"""

import pytest
from django.contrib.auth.signals import user_login_failed
from django.core.cache import backends, cache, caches
from django.core.cache.backends import locmem
from django.urls import reverse

pytestmark = pytest.mark.django_db

# The limits, written out: a test that read them from the module would move with a
# wrong limit instead of catching it.
USERNAME_LIMIT = 5
ADDRESS_LIMIT = 20
WINDOW_S = 15 * 60
REFUSAL = (
    "Too many failed log-ins. Wait 15 minutes and try again, "
    "or ask an instructor to reset your password."
)
ADDRESS = "203.0.113.7"


class Clock:
    """Stands in for the time module where the cache reads the time."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def fast_hasher(settings):
    """Dozens of log-ins per test: a cheap hasher keeps them quick (storage is not tested)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def clock(settings, monkeypatch):
    """An empty in-process cache whose clock stands still until the test moves it."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "login-throttle-tests",
        }
    }
    fake = Clock(1_000_000.0)
    monkeypatch.setattr(locmem, "time", fake)
    monkeypatch.setattr(backends.base, "time", fake)
    cache.clear()
    yield fake
    cache.clear()


def attempt(client, password, *, username="ada", address=ADDRESS):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address
    )


def fail(client, times, **kwargs):
    for _ in range(times):
        assert attempt(client, "wrong", **kwargs).status_code == 200


def test_after_five_failures_even_the_right_password_is_refused(client, learner):
    fail(client, USERNAME_LIMIT)
    response = attempt(client, "ada-password")
    assert response.status_code == 429
    assert REFUSAL in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_four_failures_do_not_lock_and_the_fifth_try_is_still_checked(client, learner):
    fail(client, USERNAME_LIMIT - 1)
    assert attempt(client, "wrong").status_code == 200  # checked, and the fifth failure
    assert attempt(client, "wrong").status_code == 429


def test_while_locked_the_password_is_not_even_checked(client, learner):
    checked = []

    def count(**kwargs):
        checked.append(kwargs)

    fail(client, USERNAME_LIMIT)
    user_login_failed.connect(count)
    try:
        assert attempt(client, "wrong").status_code == 429
        assert attempt(client, "ada-password").status_code == 429
    finally:
        user_login_failed.disconnect(count)
    assert checked == []


def test_a_success_before_the_limit_resets_the_count(client, learner):
    fail(client, USERNAME_LIMIT - 1)
    assert attempt(client, "ada-password").status_code == 302
    client.logout()
    fail(client, USERNAME_LIMIT - 1)
    assert attempt(client, "ada-password").status_code == 302


def test_the_lock_ends_when_the_window_of_the_first_failure_ends(client, learner, clock):
    fail(client, USERNAME_LIMIT)
    clock.now += WINDOW_S - 1
    assert attempt(client, "ada-password").status_code == 429
    clock.now += 1
    assert attempt(client, "ada-password").status_code == 302


def test_the_window_runs_from_the_first_failure_not_the_last(client, learner, clock):
    fail(client, 1)
    clock.now += WINDOW_S - 60
    fail(client, USERNAME_LIMIT - 1)
    assert attempt(client, "ada-password").status_code == 429
    clock.now += 60  # the last failures were a minute ago, the first a whole window
    assert attempt(client, "ada-password").status_code == 302


def test_failures_older_than_the_window_no_longer_count(client, learner, clock):
    fail(client, USERNAME_LIMIT - 1)
    clock.now += WINDOW_S
    fail(client, USERNAME_LIMIT - 1)  # eight in all, but only four in this window
    assert attempt(client, "ada-password").status_code == 302


def test_usernames_are_counted_apart_but_case_and_spaces_do_not_make_a_new_one(
    client, learner, other_learner
):
    fail(client, USERNAME_LIMIT, username="ada")
    assert attempt(client, "ada-password", username=" ADA ").status_code == 429
    assert attempt(client, "linus-password", username="linus").status_code == 302


def test_a_username_is_counted_by_its_first_150_characters(client, learner):
    stem = "u" * 149
    # Names that differ only after the 150th character share a count...
    for index in range(USERNAME_LIMIT):
        assert attempt(client, "wrong", username=f"{stem}x{index}").status_code == 200
    assert attempt(client, "wrong", username=f"{stem}x-other").status_code == 429
    # ...and names that differ at the 150th do not.
    assert attempt(client, "wrong", username=f"{stem}y").status_code == 200


def test_twenty_failures_from_one_address_lock_it_and_nineteen_do_not(
    client, learner, other_learner
):
    # Never five on one username, so only the address count can lock.
    for index in range(ADDRESS_LIMIT - 1):
        assert attempt(client, "wrong", username=f"guess-{index}").status_code == 200
    assert attempt(client, "wrong", username="guess-last").status_code == 200  # the 20th
    assert attempt(client, "ada-password").status_code == 429
    assert (
        attempt(client, "linus-password", username="linus", address="198.51.100.2").status_code
        == 302
    )


def test_a_success_does_not_wipe_the_address_count(client, learner):
    for index in range(ADDRESS_LIMIT - 1):
        attempt(client, "wrong", username=f"guess-{index}")
    assert attempt(client, "ada-password").status_code == 302
    client.logout()
    assert attempt(client, "wrong", username="guess-x").status_code == 200
    assert attempt(client, "ada-password").status_code == 429


def test_a_count_whose_key_expires_between_add_and_incr_starts_again_at_one(
    client, learner, clock, monkeypatch
):
    # As if each new key expired the moment after cache.add made it: incr then finds
    # nothing, and the failure must be stored as the first of a new window.
    monkeypatch.setattr(caches["default"], "add", lambda *args, **kwargs: True)
    fail(client, USERNAME_LIMIT - 1)
    assert attempt(client, "wrong").status_code == 200
    assert attempt(client, "ada-password").status_code == 429
    clock.now += WINDOW_S
    assert attempt(client, "ada-password").status_code == 302
