"""Fixtures for fault injection: labs whose checker naps, a Redis of the test's own."""

import pytest

from tests.faults.injection import NAPPING_CHECKER, RedisServer


def pytest_configure(config):
    config.addinivalue_line("markers", "stops_docker: stops the Docker engine; runs last")


def pytest_collection_modifyitems(items):
    # Every other test on this machine's engine would fail during the outage.
    items.sort(key=lambda item: item.get_closest_marker("stops_docker") is not None)


@pytest.fixture
def napping_lab(scratch_lab):
    """Factory: a lab whose checker sleeps `seconds` before giving full marks."""

    def make(seconds: float, *, attempts_per_hour: int | None = None):
        extra = f"\n[attempts]\nper_hour = {attempts_per_hour}\n" if attempts_per_hour else ""
        checker = NAPPING_CHECKER.format(seconds=seconds)
        slug = f"nap-{seconds:g}s".replace(".", "-")
        # The time limit leaves the nap and a loaded machine's start-up room to spare.
        timeout_s = round(seconds) + 30
        return scratch_lab(slug, checker, extra_toml=extra, timeout_s=timeout_s)

    return make


@pytest.fixture
def private_redis(tmp_path, settings, monkeypatch):
    """A Redis of this test's own as the broker, for the submitter and the workers.

    List it before `start_worker`, so the workers stop before their broker does.
    """
    from downstack.celery import app

    server = RedisServer(tmp_path)
    settings.CELERY_BROKER_URL = server.url  # what Worker passes to its process
    # Celery's configuration prefers this variable to every other broker setting.
    monkeypatch.setenv("CELERY_BROKER_URL", server.url)
    # Empty the cached connection pools for this test; the shared broker's come back after.
    monkeypatch.setattr(app, "_pool", None)
    monkeypatch.setattr(app.amqp, "_producer_pool", None)
    yield server
    server.stop()
