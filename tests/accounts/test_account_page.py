"""The account page: time zone, and API tokens that are shown once and can be revoked."""

import re

import pytest
from django.urls import reverse

from accounts.models import ApiToken, profile_for

pytestmark = pytest.mark.django_db


def test_token_is_shown_once_and_only_its_hash_is_stored(client, learner):
    client.force_login(learner)
    response = client.post(reverse("accounts:token_create"), {"name": "laptop"}, follow=True)
    page = response.content.decode()
    key = re.search(r'<pre class="token">(ds_[\w-]+)</pre>', page)[1]
    token = ApiToken.objects.get()
    assert token.name == "laptop" and key not in (token.key_hash, token.prefix)
    assert ApiToken.authenticate(key) == learner
    again = client.get(reverse("accounts:account")).content.decode()
    assert key not in again and "laptop" in again


def test_revoked_token_stops_working(client, learner):
    token, key = ApiToken.issue(user=learner, name="ci")
    client.force_login(learner)
    client.post(reverse("accounts:token_revoke", args=[token.pk]))
    assert ApiToken.authenticate(key) is None


def test_cannot_revoke_someone_elses_token(client, learner, other_learner):
    token, key = ApiToken.issue(user=other_learner, name="theirs")
    client.force_login(learner)
    response = client.post(reverse("accounts:token_revoke", args=[token.pk]))
    assert response.status_code == 404
    assert ApiToken.authenticate(key) == other_learner


def test_time_zone_changes_how_times_are_shown(client, learner):
    client.force_login(learner)
    client.post(reverse("accounts:time_zone_set"), {"time_zone": "Asia/Tokyo"})
    assert profile_for(learner).time_zone == "Asia/Tokyo"
    page = client.get(reverse("accounts:account")).content.decode()
    assert "Times are now shown in Asia/Tokyo." in page


def test_unknown_time_zone_is_refused(client, learner):
    client.force_login(learner)
    client.post(reverse("accounts:time_zone_set"), {"time_zone": "Mars/Olympus"})
    assert profile_for(learner).time_zone == "UTC"
