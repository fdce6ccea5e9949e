"""Log-in is rate limited: repeated failures lock the username out for a while."""

import pytest
from django.core.cache import cache
from django.urls import reverse

from accounts.throttle import MAX_FAILURES

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


def attempt(client, password):
    return client.post(reverse("login"), {"username": "ada", "password": password})


def test_after_too_many_failures_even_the_right_password_is_refused(client, learner):
    for _ in range(MAX_FAILURES):
        assert attempt(client, "wrong").status_code == 200
    response = attempt(client, "ada-password")
    assert response.status_code == 429
    assert "Too many failed log-ins" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_success_before_the_limit_resets_the_count(client, learner):
    for _ in range(MAX_FAILURES - 1):
        attempt(client, "wrong")
    assert attempt(client, "ada-password").status_code == 302
    client.logout()
    for _ in range(MAX_FAILURES - 1):
        attempt(client, "wrong")
    assert attempt(client, "ada-password").status_code == 302
