"""What an operator's machinery asks of the site: liveness (/healthz), readiness
(/readyz: the database, the broker, a grading worker) and Prometheus metrics (/metrics).

None of them needs a log-in or a CSRF token (GET only), and none is redirected to HTTPS
(SECURE_REDIRECT_EXEMPT in settings), so probes inside the deployment can ask over
plain HTTP.
"""

from __future__ import annotations

import hmac
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.log import log_response
from django.views.decorators.http import require_GET
from kombu.exceptions import KombuError
from kombu.utils.url import maybe_sanitize_url
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from downstack.celery import app
from grading import heartbeat
from grading.metrics import REGISTRY
from grading.models import WorkerHeartbeat

# /metrics without METRICS_TOKEN: only a scraper on the same machine (or in the same
# container) gets it. There is no "inside the deployment" by address: behind a port
# that Docker publishes, every client, from anywhere, reaches the web service from the
# bridge's gateway address, so a private-address rule would let the whole internet in.
# X-Forwarded-For is not read either, since any client can set it.
LOOPBACK = {"127.0.0.1", "::1"}
# How long readiness waits for the broker to answer.
BROKER_TIMEOUT_S = 2


@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness: the process answers. It touches nothing, so a slow database never gets a
    healthy web process restarted."""
    return HttpResponse("ok\n", content_type="text/plain")


@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: 200 when the database, the broker and at least one grading worker with
    a working Docker engine answer; 503 naming the parts that do not."""
    checks = {
        "database": _check(database_problem),
        "broker": _check(broker_problem),
        "workers": _check(workers_problem),
    }
    ok = all(check["ok"] for check in checks.values())
    response = JsonResponse({"ok": ok, "checks": checks}, status=200 if ok else 503)
    if not ok:
        # A warning, not Django's error for a 5xx: that one mails ADMINS, and probes ask
        # every few seconds for as long as a part is down.
        down = "; ".join(f"{part}: {c['detail']}" for part, c in checks.items() if not c["ok"])
        log_response("Not ready: %s", down, response=response, request=request, level="warning")
    return response


def _check(problem_of) -> dict:
    problem = problem_of()
    return {"ok": problem is None, "detail": problem or "ok"}


def database_problem() -> str | None:
    """None if the database answers a trivial query, else what went wrong."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        return f"the database does not answer: {exc}"
    return None


def broker_problem() -> str | None:
    """None if the broker (CELERY_BROKER_URL, read now) takes a connection, else why not.

    The filesystem broker has no server: it is up when its folders exist."""
    url = settings.CELERY_BROKER_URL
    if url.startswith("filesystem"):
        return _broker_folders_problem(settings.CELERY_BROKER_TRANSPORT_OPTIONS)
    broker = app.connection_for_read(
        url=url,
        connect_timeout=BROKER_TIMEOUT_S,
        transport_options={
            "socket_connect_timeout": BROKER_TIMEOUT_S,
            "socket_timeout": BROKER_TIMEOUT_S,
        },
    )
    try:
        broker.ensure_connection(max_retries=1, interval_start=0, timeout=2 * BROKER_TIMEOUT_S)
    except (KombuError, OSError) as exc:
        return f"the broker does not answer at {maybe_sanitize_url(url)}: {exc}"
    finally:
        broker.release()
    return None


def _broker_folders_problem(options: dict) -> str | None:
    for key in ("data_folder_in", "data_folder_out", "processed_folder"):
        folder = options.get(key)
        if folder and not Path(folder).is_dir():
            return f"the filesystem broker's folder {folder} is missing"
    return None


def workers_problem() -> str | None:
    """None if a worker wrote a heartbeat within three intervals with its Docker engine
    answering; else whose heartbeat is missing or whose engine is down."""
    window_s = heartbeat.ALIVE_INTERVALS * settings.GRADING_HEARTBEAT_S
    try:
        fresh = list(WorkerHeartbeat.objects.filter(last_seen_at__gte=heartbeat.alive_since()))
    except DatabaseError as exc:
        return f"worker heartbeats cannot be read: {exc}"
    if not fresh:
        return f"no worker heartbeat in the last {window_s} s"
    if any(worker.engine_ok for worker in fresh):
        return None
    return "; ".join(
        f"worker {worker.hostname}: {worker.engine_detail or 'its Docker engine does not answer'}"
        for worker in fresh
    )


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus metrics (grading.metrics), for a scraper that shows METRICS_TOKEN as a
    Bearer token, or, with no token set, for one on the loopback address only."""
    refusal = metrics_refusal(request)
    if refusal is not None:
        return refusal
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)


def metrics_refusal(request: HttpRequest) -> HttpResponse | None:
    """The answer to a scraper that may not read the metrics; None for one that may."""
    token = settings.METRICS_TOKEN
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), token.encode()):
            return None
        refused = HttpResponse(
            "401 Unauthorized: send Authorization: Bearer <METRICS_TOKEN>.\n",
            status=401,
            content_type="text/plain",
        )
        refused["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return refused
    if request.META.get("REMOTE_ADDR") in LOOPBACK:
        return None
    return HttpResponse(
        "403 Forbidden: metrics are served to the loopback address only; "
        "set METRICS_TOKEN to scrape from elsewhere.\n",
        status=403,
        content_type="text/plain",
    )
