"""A grading worker's heartbeat: every GRADING_HEARTBEAT_S its main process asks its
Docker engine whether it answers and writes the answer, with the time, to its
WorkerHeartbeat row. A worker that stopped beating is one whose row grows old."""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

import graders
from grading.models import WorkerHeartbeat

log = logging.getLogger(__name__)

_beating: tuple[threading.Thread, threading.Event] | None = None


def beat(*, hostname: str, started_at: datetime, problem: str | None) -> WorkerHeartbeat:
    """Write one heartbeat for `hostname`: now, and the engine's `problem` (None: it
    answered). Safe to run twice: the row is upserted."""
    row, _ = WorkerHeartbeat.objects.update_or_create(
        hostname=hostname,
        defaults={
            "started_at": started_at,
            "last_seen_at": timezone.now(),
            "engine_ok": problem is None,
            "engine_detail": problem or "",
        },
    )
    return row


def start(*, hostname: str) -> None:
    """Start beating for this worker process in a thread of its own (first beat at once).
    Safe to run twice: a second call while beating does nothing."""
    global _beating
    if _beating is not None:
        return
    stopped = threading.Event()
    started_at = timezone.now()
    interval = settings.GRADING_HEARTBEAT_S

    def beat_until_stopped() -> None:
        was_ok = True
        try:
            while True:
                problem = graders.engine_problem(timeout_s=min(5, interval))
                if (problem is None) != was_ok:
                    was_ok = problem is None
                    if problem:
                        log.error("worker %s: %s", hostname, problem)
                    else:
                        log.warning("worker %s: the Docker engine answers again", hostname)
                try:
                    beat(hostname=hostname, started_at=started_at, problem=problem)
                except DatabaseError as exc:  # the next beat may get through
                    log.warning("worker %s: heartbeat not written: %s", hostname, exc)
                    connection.close()
                if stopped.wait(interval):
                    return
        finally:
            connection.close()

    thread = threading.Thread(target=beat_until_stopped, name="heartbeat", daemon=True)
    thread.start()
    _beating = (thread, stopped)


def stop() -> None:
    """Stop beating (at worker shutdown). Safe to run twice."""
    global _beating
    if _beating is None:
        return
    thread, stopped = _beating
    stopped.set()
    thread.join(timeout=10)
    _beating = None
