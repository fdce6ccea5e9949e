"""Fixtures for the account tests: throttle counts start from nothing in every test."""

import pytest
from django.core.cache import cache


@pytest.fixture
def fresh_counts(settings):
    """A clean cache (the throttles count there) and a fast password hasher."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()
    yield
    cache.clear()
