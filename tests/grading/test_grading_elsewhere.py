"""Which worker grades while an engine is down: work leaves a worker whose engine does not
answer only for a live worker whose engine does (tests/deploy proves it with two engines)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from grading import heartbeat

pytestmark = pytest.mark.django_db


def beat(hostname, *, engine_ok=True, age_s=0.0):
    """A heartbeat row for `hostname`, written `age_s` ago."""
    row = heartbeat.beat(
        hostname=hostname, started_at=timezone.now(), problem=None if engine_ok else "down"
    )
    row.last_seen_at = timezone.now() - timedelta(seconds=age_s)
    row.save()
    return row


def test_work_goes_elsewhere_when_the_engine_is_down_and_another_answers():
    beat("w1@a")
    beat("w2@b", engine_ok=False)

    assert heartbeat.grades_elsewhere(hostname="w2@b")
    assert not heartbeat.grades_elsewhere(hostname="w1@a")


def test_with_no_other_live_engine_a_worker_keeps_its_work(settings):
    settings.GRADING_HEARTBEAT_S = 15
    beat("w2@b", engine_ok=False)
    assert not heartbeat.grades_elsewhere(hostname="w2@b")

    beat("w3@c", engine_ok=False)  # its engine is down too
    beat("w1@a", age_s=3 * 15 + 1)  # it answered, but it has not beaten since
    assert not heartbeat.grades_elsewhere(hostname="w2@b")

    beat("w1@a", age_s=3 * 15 - 5)
    assert heartbeat.grades_elsewhere(hostname="w2@b")
