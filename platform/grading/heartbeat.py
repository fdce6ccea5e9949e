"""A grading worker's heartbeat: its main process asks its Docker engine every second
whether it answers, and writes the answer, with the time, to its WorkerHeartbeat row
every GRADING_HEARTBEAT_S and whenever it changes. A worker that stopped beating is one
whose row grows old.

The heartbeat also decides whether the worker takes grading work. While its engine does
not answer and another worker's does, it stops consuming the grading queues, so that the
other grades what it would only fail (GradingIntake), and gives back what it took before
(`grades_elsewhere`, asked by the grading tasks). With no other worker to grade, it goes
on taking work, and each failure is retried and shown as the platform's, as before."""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

import graders
from grading import queue
from grading.models import WorkerHeartbeat

log = logging.getLogger(__name__)

# The engine is asked this often, and a change is written at once, so that a worker
# whose engine stops takes no more grading work within about a second (each grading it
# takes meanwhile fails and costs a retry), however long GRADING_HEARTBEAT_S is.
ENGINE_CHECK_S = 1.0
# A worker whose last heartbeat is younger than this many intervals is alive.
ALIVE_INTERVALS = 3

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


def alive_since(now: datetime | None = None) -> datetime:
    """A heartbeat written at or after this time is a live worker's."""
    seconds = ALIVE_INTERVALS * settings.GRADING_HEARTBEAT_S
    return (now or timezone.now()) - timedelta(seconds=seconds)


def others_grade(*, hostname: str) -> bool:
    """Whether a live worker other than `hostname` has an engine that answers. Only reads."""
    others = WorkerHeartbeat.objects.exclude(hostname=hostname)
    return others.filter(engine_ok=True, last_seen_at__gte=alive_since()).exists()


def grades_elsewhere(*, hostname: str) -> bool:
    """Whether the grading work that worker `hostname` holds belongs to another worker:
    its last heartbeat says its engine does not answer while another's does (so it has
    stopped taking more). Only reads."""
    down = WorkerHeartbeat.objects.filter(hostname=hostname, engine_ok=False).exists()
    return down and others_grade(hostname=hostname)


def grading_queues() -> set[str]:
    """The queues of the work that needs a Docker engine: where the grading tasks go."""
    routes = settings.CELERY_TASK_ROUTES
    return {routes[name]["queue"] for name in (queue.GRADE_SUBMISSION, queue.REGRADE_RUN)}


class GradingIntake:
    """Whether a worker's Celery consumer takes grading work: `follow(take_work=False)`
    stops it consuming the grading queues, `follow(take_work=True)` resumes them. Only
    the queues it stopped are resumed, so a queue an operator cancelled
    (`celery control cancel_consumer`) stays cancelled.

    `follow` may be called from any thread. The consumer is changed in its own thread,
    through Consumer.call_soon as Celery's add_consumer and cancel_consumer remote
    commands do, and each change brings it to the latest state asked for, so changes
    that run in another order than they were asked still end right."""

    def __init__(self, consumer) -> None:
        self._consumer = consumer
        self._take_work = True
        self._paused: list[str] = []

    def follow(self, *, take_work: bool) -> None:
        """Take grading work from now on, or stop taking it."""
        self._take_work = take_work
        self._consumer.call_soon(self._apply)

    def _apply(self) -> None:
        if self._take_work:
            while self._paused:
                name = self._paused.pop()
                self._consumer.add_task_queue(name)
                log.warning("worker %s: taking grading work again from %s", self._host(), name)
            return
        consuming = set(self._consumer.app.amqp.queues.consume_from)
        for name in sorted(grading_queues() & consuming):
            self._consumer.cancel_task_queue(name)
            self._paused.append(name)
            log.error(
                "worker %s: no grading work taken from %s while its Docker engine does not "
                "answer and another worker's does",
                self._host(),
                name,
            )

    def _host(self) -> str:
        return getattr(self._consumer, "hostname", "") or "celery"


def start(*, hostname: str, intake: GradingIntake | None = None) -> None:
    """Start beating for this worker process in a thread of its own (first beat at once);
    `intake`, when given, takes grading work unless the engine does not answer while
    another worker's does. Safe to run twice: a second call while beating does nothing."""
    global _beating
    if _beating is not None:
        return
    stopped = threading.Event()
    started_at = timezone.now()
    interval = settings.GRADING_HEARTBEAT_S

    def beat_until_stopped() -> None:
        was_ok = taking = True
        next_beat = time.monotonic()
        try:
            while True:
                problem = graders.engine_problem(timeout_s=min(5, interval))
                changed = (problem is None) != was_ok
                if changed:
                    was_ok = problem is None
                    _say_engine_changed(hostname, problem)
                if intake is not None and taking != _should_take(hostname, problem, taking):
                    taking = not taking
                    intake.follow(take_work=taking)
                if changed or time.monotonic() >= next_beat:
                    next_beat = time.monotonic() + interval
                    _beat_or_log(hostname, started_at, problem)
                if stopped.wait(min(ENGINE_CHECK_S, interval)):
                    return
        finally:
            connection.close()

    thread = threading.Thread(target=beat_until_stopped, name="heartbeat", daemon=True)
    thread.start()
    _beating = (thread, stopped)


def _say_engine_changed(hostname: str, problem: str | None) -> None:
    if problem:
        log.error("worker %s: %s", hostname, problem)
    else:
        log.warning("worker %s: the Docker engine answers again", hostname)


def _should_take(hostname: str, problem: str | None, taking: bool) -> bool:
    """Whether to take grading work: yes while the engine answers, and also while no other
    worker could take it; `taking` (no change) when the heartbeats cannot be read."""
    if problem is None:
        return True
    try:
        return not others_grade(hostname=hostname)
    except DatabaseError as exc:
        log.warning("worker %s: heartbeats not read: %s", hostname, exc)
        connection.close()
        return taking


def _beat_or_log(hostname: str, started_at: datetime, problem: str | None) -> None:
    try:
        beat(hostname=hostname, started_at=started_at, problem=problem)
    except DatabaseError as exc:  # the next beat may get through
        log.warning("worker %s: heartbeat not written: %s", hostname, exc)
        connection.close()


def stop() -> None:
    """Stop beating (at worker shutdown). Safe to run twice."""
    global _beating
    if _beating is None:
        return
    thread, stopped = _beating
    stopped.set()
    thread.join(timeout=10)
    _beating = None
