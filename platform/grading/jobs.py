"""The lifecycle of a grading job (a Submission or a GradeRun), and the one path through it.

    queued --claim--> running --store--> graded | error
               ^          |
               +-release--+   (the platform failed: Docker, unreadable inputs, time limit)
               +-requeue--+   (the lease lapsed: the worker died; see grading.reaper)

A claim sets a fresh token and a lease. The worker renews the lease while the sandbox
runs (`lease_renewed`); only the holder of the current token may store a result or give
the claim back, so a late worker never overwrites a newer attempt.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import F, Q
from django.utils import timezone

from grading import alerts
from grading.models import GradeRun, JobStatus, Submission

log = logging.getLogger(__name__)

WAITING_FOR_INFRASTRUCTURE = (
    "Could not be graded yet: the grading machine is unavailable. "
    "It will retry automatically, and this does not count as an attempt."
)
REQUEUED = "Grading was interrupted; it has been queued again."

Job = type[Submission] | type[GradeRun]


def lease_until(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) + timedelta(seconds=settings.GRADING_LEASE_S)


def claim(model: Job, pk, *, worker: str = "") -> uuid.UUID | None:
    """Take a queued job for this worker (its name is kept on the row); None when it is
    not queued (graded, or being graded by another worker). Safe to run twice: one caller
    wins."""
    token = uuid.uuid4()
    now = timezone.now()
    claimed = model.objects.filter(pk=pk, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING,
        started_at=now,
        claim_token=token,
        lease_expires_at=lease_until(now),
        deliveries=F("deliveries") + 1,
        status_detail="",
        worker=worker,
    )
    return token if claimed else None


def renew(model: Job, pk, token: uuid.UUID) -> bool:
    """Extend the lease of a claim this worker still holds; False once it is lost."""
    return bool(
        model.objects.filter(pk=pk, status=JobStatus.RUNNING, claim_token=token).update(
            lease_expires_at=lease_until()
        )
    )


def release(model: Job, pk, *, token: uuid.UUID, reason: str) -> None:
    """Give a claim back after an infrastructure failure; the job waits in the queue, and
    ADMINS are mailed when its failures reach GRADING_ALERT_AFTER_FAILURES."""
    released = model.objects.filter(pk=pk, status=JobStatus.RUNNING, claim_token=token).update(
        status=JobStatus.QUEUED,
        claim_token=None,
        started_at=None,
        lease_expires_at=None,
        infra_failures=F("infra_failures") + 1,
        last_infra_error=reason[:2000],
        status_detail=WAITING_FOR_INFRASTRUCTURE,
    )
    if released:
        failures = model.objects.filter(pk=pk).values_list("infra_failures", flat=True).first()
        alerts.infra_failure_noted(
            kind=str(model._meta.verbose_name), pk=pk, failures=failures or 0, error=reason
        )


def release_current(model: Job, pk, *, reason: str) -> None:
    """Give back whatever claim a job holds now (its worker lost track of the token)."""
    token = model.objects.filter(pk=pk).values_list("claim_token", flat=True).first()
    if token is not None:
        release(model, pk, token=token, reason=reason)


def store(model: Job, pk, *, token: uuid.UUID, **fields) -> bool:
    """Finish a claimed job with `fields` (status, score, ...); False, storing nothing,
    when the claim was lost (the lease lapsed and the job was queued again)."""
    stored = model.objects.filter(pk=pk, status=JobStatus.RUNNING, claim_token=token).update(
        **fields, finished_at=timezone.now(), claim_token=None, lease_expires_at=None
    )
    if not stored:
        log.warning("%s %s: claim lost before the result was stored", model.__name__, pk)
    return bool(stored)


def requeue_lapsed(model: Job, *, now: datetime) -> list:
    """Put running jobs whose lease lapsed back in the queue; returns their ids.

    A row claimed before leases existed has none: it counts as lapsed once it has run
    past the hard time limit."""
    hard_limit = now - timedelta(seconds=settings.GRADING_HARD_TIME_LIMIT_S)
    lapsed = Q(lease_expires_at__lt=now) | Q(
        lease_expires_at__isnull=True, started_at__lt=hard_limit
    )
    running = model.objects.filter(lapsed, status=JobStatus.RUNNING)
    requeued = []
    for pk in list(running.values_list("pk", flat=True)):
        # The condition again, so a claim renewed since the read is left alone.
        if running.filter(pk=pk).update(
            status=JobStatus.QUEUED,
            claim_token=None,
            started_at=None,
            lease_expires_at=None,
            status_detail=REQUEUED,
            requeues=F("requeues") + 1,
        ):
            requeued.append(pk)
    return requeued


@contextlib.contextmanager
def lease_renewed(model: Job, pk, token: uuid.UUID) -> Iterator[None]:
    """Renew the claim's lease every third of its length while the block runs.

    The renewals come from a thread with its own database connection. A claim made
    inside an open transaction is invisible to every other connection (no other worker
    can see it either), so there is nothing to renew and no thread is started.
    """
    if connection.in_atomic_block:
        yield
        return
    stopped = threading.Event()
    interval = settings.GRADING_LEASE_S / 3

    def renew_until_stopped() -> None:
        try:
            while not stopped.wait(interval):
                try:
                    if not renew(model, pk, token):
                        log.warning("%s %s: lease lost while grading", model.__name__, pk)
                        return
                except DatabaseError as exc:  # the next renewal may get through
                    log.warning("%s %s: lease renewal failed: %s", model.__name__, pk, exc)
        finally:
            connection.close()

    renewer = threading.Thread(target=renew_until_stopped, name=f"lease-{pk}", daemon=True)
    renewer.start()
    try:
        yield
    finally:
        stopped.set()
        renewer.join()
