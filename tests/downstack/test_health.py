"""The operator's endpoints: /healthz answers without touching anything, /readyz names the
part that is down (database, broker, workers), /metrics goes only to a loopback scraper
or to one with METRICS_TOKEN, and none of them is redirected to HTTPS."""

import json
import os
import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from grading.models import WorkerHeartbeat

ROOT = Path(__file__).resolve().parents[2]


def ready(client: Client | None = None) -> tuple[int, dict]:
    response = (client or Client()).get("/readyz")
    return response.status_code, json.loads(response.content)


def beat(hostname="w1@host", *, ago_s=0.0, engine_ok=True, detail="") -> WorkerHeartbeat:
    now = timezone.now()
    return WorkerHeartbeat.objects.create(
        hostname=hostname,
        started_at=now - timedelta(hours=1),
        last_seen_at=now - timedelta(seconds=ago_s),
        engine_ok=engine_ok,
        engine_detail=detail,
    )


def closed_port() -> int:
    """A local TCP port nothing listens on (bound, then let go)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def heartbeat_15s(settings):
    settings.GRADING_HEARTBEAT_S = 15


def test_healthz_answers_ok_without_touching_the_database():
    # No database fixture: a query here would fail the test.
    response = Client().get("/healthz")

    assert response.status_code == 200
    assert response.content == b"ok\n"


@pytest.mark.django_db
def test_readyz_is_ready_with_a_fresh_heartbeat_from_a_working_engine(heartbeat_15s):
    beat(ago_s=5)

    status, body = ready()

    assert status == 200, body
    assert body == {
        "ok": True,
        "checks": {
            part: {"ok": True, "detail": "ok"} for part in ("database", "broker", "workers")
        },
    }


@pytest.mark.django_db
def test_readyz_without_any_heartbeat_names_the_workers(heartbeat_15s):
    status, body = ready()

    assert status == 503
    assert body["ok"] is False
    assert body["checks"]["workers"] == {
        "ok": False,
        "detail": "no worker heartbeat in the last 45 s",
    }
    assert body["checks"]["database"]["ok"] and body["checks"]["broker"]["ok"]


@pytest.mark.django_db
def test_readyz_when_not_ready_mails_no_one(settings, mailoutbox, heartbeat_15s):
    settings.ADMINS = [("Ops", "ops@example.org")]

    assert ready()[0] == 503

    # Django mails ADMINS on an error response; a probe asks every few seconds.
    assert mailoutbox == []


def test_a_request_for_another_host_mails_no_one(settings, mailoutbox):
    settings.ADMINS = [("Ops", "ops@example.org")]
    settings.ALLOWED_HOSTS = ["downstack.example.org"]

    response = Client().get("/healthz", HTTP_HOST="10.1.2.3:8000")

    assert response.status_code == 400
    assert mailoutbox == []


@pytest.mark.django_db
def test_readyz_with_only_a_stale_heartbeat_names_the_workers(heartbeat_15s):
    beat(ago_s=46)

    status, body = ready()

    assert status == 503
    assert body["checks"]["workers"]["detail"] == "no worker heartbeat in the last 45 s"


@pytest.mark.django_db
def test_readyz_names_a_worker_whose_engine_does_not_answer(heartbeat_15s):
    beat("w1@host", engine_ok=False, detail="the Docker engine does not answer: refused")

    status, body = ready()

    assert status == 503
    assert body["checks"]["workers"] == {
        "ok": False,
        "detail": "worker w1@host: the Docker engine does not answer: refused",
    }


@pytest.mark.django_db
def test_readyz_is_ready_while_one_worker_of_two_has_a_working_engine(heartbeat_15s):
    beat("w1@host", engine_ok=False, detail="the Docker engine does not answer")
    beat("w2@host")

    status, body = ready()

    assert status == 200, body


@pytest.mark.django_db
def test_readyz_names_the_broker_when_it_does_not_answer(settings, heartbeat_15s):
    beat()
    port = closed_port()
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{port}/0"

    status, body = ready()

    assert status == 503
    broker = body["checks"]["broker"]
    assert broker["ok"] is False
    assert broker["detail"].startswith(f"the broker does not answer at redis://127.0.0.1:{port}/0")
    assert body["checks"]["database"]["ok"] and body["checks"]["workers"]["ok"]


@pytest.mark.django_db
def test_readyz_takes_the_filesystem_broker_as_up_while_its_folders_exist(
    settings, tmp_path, heartbeat_15s
):
    beat()
    folders = {key: tmp_path / key for key in ("in", "processed")}
    for folder in folders.values():
        folder.mkdir()
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(folders["in"]),
        "data_folder_out": str(folders["in"]),
        "processed_folder": str(folders["processed"]),
    }
    assert ready()[0] == 200

    folders["processed"].rmdir()
    status, body = ready()

    assert status == 503
    assert body["checks"]["broker"] == {
        "ok": False,
        "detail": f"the filesystem broker's folder {folders['processed']} is missing",
    }


def test_readyz_names_the_database_when_it_does_not_answer(tmp_path):
    """A real web process on a PostgreSQL address where nothing listens."""
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "ALLOWED_HOSTS")},
        "DATABASE_URL": f"postgres://downstack@127.0.0.1:{closed_port()}/downstack",
        "DOWNSTACK_VAR_DIR": str(tmp_path),
    }
    code = (
        "from django.test import Client; r = Client().get('/readyz'); "
        "print(r.status_code); print(r.content.decode())"
    )
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    status, content = done.stdout.split("\n", 1)
    body = json.loads(content)

    assert status == "503"
    assert body["checks"]["database"]["ok"] is False
    assert body["checks"]["database"]["detail"].startswith("the database does not answer")
    assert body["checks"]["workers"]["detail"].startswith("worker heartbeats cannot be read")


@pytest.mark.django_db
@pytest.mark.parametrize("address", ["127.0.0.1", "::1"])
def test_metrics_go_to_a_loopback_scraper_without_a_token(settings, address):
    settings.METRICS_TOKEN = ""

    response = Client().get("/metrics", REMOTE_ADDR=address)

    assert response.status_code == 200
    assert b"downstack_queue_depth" in response.content


@pytest.mark.django_db
def test_metrics_are_refused_to_any_other_address_without_a_token(settings):
    settings.METRICS_TOKEN = ""

    response = Client().get("/metrics", REMOTE_ADDR="172.17.0.1", HTTP_X_FORWARDED_FOR="127.0.0.1")

    assert response.status_code == 403
    assert b"set METRICS_TOKEN" in response.content
    assert b"downstack_" not in response.content


@pytest.mark.django_db
@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", "Basic c2NyYXBlcjpzM2NyZXQ=", "Bearer s3cret-metrics-token-x"],
    ids=["none", "wrong", "basic", "longer"],
)
def test_metrics_with_a_token_set_refuse_any_other_authorization(settings, authorization):
    settings.METRICS_TOKEN = "s3cret-metrics-token"
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}

    # Loopback too: with a token set, the address counts for nothing.
    response = Client().get("/metrics", REMOTE_ADDR="127.0.0.1", **headers)

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"downstack_" not in response.content


@pytest.mark.django_db
def test_metrics_with_the_right_token_are_served_to_any_address(settings):
    settings.METRICS_TOKEN = "s3cret-metrics-token"

    response = Client().get(
        "/metrics", REMOTE_ADDR="172.17.0.1", HTTP_AUTHORIZATION="Bearer s3cret-metrics-token"
    )

    assert response.status_code == 200
    assert b"downstack_queue_depth" in response.content


@pytest.mark.django_db
def test_probes_and_metrics_are_not_redirected_to_https(settings, heartbeat_15s):
    settings.SECURE_SSL_REDIRECT = True
    settings.METRICS_TOKEN = ""
    beat()
    client = Client()  # its middleware is built from the settings at its first request

    assert client.get("/login/").status_code == 301  # the redirect is on
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
