"""Recovering work a worker left behind: jobs whose lease lapsed (their worker died) and
queued jobs whose broker message was lost. Runs every GRADING_REAP_INTERVAL_S (the beat
schedule) and once whenever a worker starts."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from grading import jobs, queue
from grading.models import GradeRun, JobStatus, Submission

log = logging.getLogger(__name__)


def submissions_reap(*, now=None) -> list:
    """Re-queue submissions and regrade runs that a worker left behind; returns their ids.

    Safe to run twice: re-queued rows get a fresh message and the claim grades them once.
    """
    now = now or timezone.now()
    submissions = _resend(
        Submission, now=now, send=lambda pk: queue.submission_send(submission_id=pk)
    )
    runs = _resend(GradeRun, now=now, send=lambda pk: queue.graderuns_send(run_ids=[pk]))
    return submissions + runs


def _resend(model, *, now, send) -> list:
    """Requeue a model's lapsed claims, then send every one of them and every lost row."""
    lapsed = jobs.requeue_lapsed(model, now=now)
    lost_before = now - timedelta(seconds=settings.GRADING_REQUEUE_AFTER_S)
    # A row committed by a process that died before sending its message has no enqueued_at.
    never_sent = Q(enqueued_at__isnull=True, created_at__lt=lost_before)
    lost = list(
        model.objects.filter(Q(enqueued_at__lt=lost_before) | never_sent, status=JobStatus.QUEUED)
        .exclude(pk__in=lapsed)
        .values_list("pk", flat=True)
    )
    model.objects.filter(pk__in=lost).update(requeues=F("requeues") + 1)
    for pk in lapsed + lost:
        log.warning("%s %s: re-queued by the reaper", model._meta.verbose_name, pk)
        send(pk)
    return lapsed + lost
