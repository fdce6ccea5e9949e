"""Grading's Prometheus metrics, computed from the database at every scrape.

Nothing is counted in process memory: every web process, on every host, reads the same
rows and so answers the same, and a restart loses nothing. The counters are sums over
the job rows (a deleted row takes its counts with it, which Prometheus reads as a reset).
Each family is one query, its buckets counted by conditional aggregation in the database.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import timedelta

from django.db.models import Count, F, Min, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from prometheus_client import CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from grading.models import GradeRun, JobStatus, Submission, WorkerHeartbeat

# Upper bounds, in seconds, of the histograms' buckets (+Inf is added). Time in queue
# runs from a second on an idle site to an hour in a deadline rush; time in the sandbox
# is capped by a lab's timeout_s, at most GRADING_MAX_TIMEOUT_S (120 s by default).
QUEUE_WAIT_BUCKETS_S = (1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
SANDBOX_BUCKETS_S = (0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300)

# The job kinds (label `kind`) and the Celery queue each travels on (label `queue`).
JOB_KINDS: tuple[tuple[str, str, type[Submission] | type[GradeRun]], ...] = (
    ("submission", "grading", Submission),
    ("regrade", "regrade", GradeRun),
)
FINISHED = (JobStatus.GRADED, JobStatus.ERROR)
VERDICTS = (
    ("timeout", "timed_out"),
    ("oom", "oom_killed"),
    ("output_truncated", "output_truncated"),
)


class GradingCollector:
    """A prometheus_client collector: every family from the database, at scrape time."""

    def collect(self) -> Iterator[Metric]:
        yield submissions_by_status()
        yield queue_wait_histogram()
        yield sandbox_histogram()
        yield sandbox_verdicts()
        yield from job_totals()
        yield from worker_heartbeats()


def submissions_by_status() -> GaugeMetricFamily:
    """Submissions per lab in each status (0 where a lab has none in that status)."""
    family = GaugeMetricFamily(
        "downstack_submissions", "Submissions by lab and status.", labels=["lab", "status"]
    )
    counts: dict[str, dict[str, int]] = {}
    for row in Submission.objects.values("lab__slug", "status").annotate(n=Count("pk")):
        counts.setdefault(row["lab__slug"], {})[row["status"]] = row["n"]
    for lab, by_status in sorted(counts.items()):
        for status in JobStatus.values:
            family.add_metric([lab, status], by_status.get(status, 0))
    return family


def queue_wait_histogram() -> HistogramMetricFamily:
    """From the job's last sending (its creation if it was never sent) to its claim, over
    finished submissions."""
    waited = F("started_at") - Coalesce("enqueued_at", "created_at")
    rows = Submission.objects.filter(status__in=FINISHED, started_at__isnull=False).alias(
        waited=waited
    )
    return _histogram(
        "downstack_queue_wait_seconds",
        "Seconds a finished submission waited in the queue before a worker claimed it.",
        rows,
        field="waited",
        buckets=QUEUE_WAIT_BUCKETS_S,
        bound=lambda b: timedelta(seconds=b),
        seconds=lambda total: total.total_seconds(),
    )


def sandbox_histogram() -> HistogramMetricFamily:
    """The sandbox's wall time of every submission that ran in it."""
    return _histogram(
        "downstack_sandbox_seconds",
        "Seconds a submission's grading ran in the sandbox (wall time).",
        Submission.objects.filter(duration_s__isnull=False),
        field="duration_s",
        buckets=SANDBOX_BUCKETS_S,
        bound=float,
        seconds=float,
    )


def _histogram(
    name: str, doc: str, rows: QuerySet, *, field: str, buckets: Sequence[float], bound, seconds
) -> HistogramMetricFamily:
    """A histogram by lab over `rows`: one grouped query counts each (cumulative) bucket
    with a filtered COUNT; `bound` turns a bucket's seconds into a value comparable with
    `field`, `seconds` turns the field's sum back into seconds."""
    counts = {
        f"le_{i}": Count("pk", filter=Q(**{f"{field}__lte": bound(b)}))
        for i, b in enumerate(buckets)
    }
    family = HistogramMetricFamily(name, doc, labels=["lab"])
    grouped = rows.values("lab__slug").annotate(n=Count("pk"), total=Sum(field), **counts)
    for row in grouped.order_by("lab__slug"):
        cumulative = [(_le(b), row[f"le_{i}"]) for i, b in enumerate(buckets)]
        total = seconds(row["total"]) if row["total"] is not None else 0.0
        family.add_metric([row["lab__slug"]], [*cumulative, ("+Inf", row["n"])], total)
    return family


def _le(bound: float) -> str:
    """A bucket's `le` label as Prometheus writes it (1.0, 0.5)."""
    return str(float(bound))


def sandbox_verdicts() -> CounterMetricFamily:
    """How often the sandbox stopped a submission's run: its time limit, its memory limit,
    or the cap on its output."""
    family = CounterMetricFamily(
        "downstack_sandbox_verdicts",
        "Submissions the sandbox stopped or cut, by lab and verdict "
        "(timeout, oom, output_truncated).",
        labels=["lab", "verdict"],
    )
    counts = {verdict: Count("pk", filter=Q(**{flag: True})) for verdict, flag in VERDICTS}
    grouped = Submission.objects.values("lab__slug").annotate(**counts).order_by("lab__slug")
    for row in grouped:
        for verdict, _ in VERDICTS:
            family.add_metric([row["lab__slug"], verdict], row[verdict])
    return family


def job_totals() -> Iterable[Metric]:
    """Infrastructure failures, retries, reaper re-queues, and the queues' depth and
    oldest entry, for submissions and regrade runs: one query per kind."""
    infra = CounterMetricFamily(
        "downstack_grading_infra_failures",
        "Times grading gave a job back because the platform failed (Docker, unreadable "
        "inputs, the worker's time limit), by job kind.",
        labels=["kind"],
    )
    retries = CounterMetricFamily(
        "downstack_grading_retries",
        "Retries: claims of a job after its first one (after an infrastructure failure or "
        "a lapsed lease), by job kind.",
        labels=["kind"],
    )
    requeues = CounterMetricFamily(
        "downstack_reaper_requeues",
        "Times the reaper sent a job again because its lease lapsed or its message was "
        "lost, by job kind.",
        labels=["kind"],
    )
    depth = GaugeMetricFamily(
        "downstack_queue_depth",
        "Jobs waiting to be graded, by Celery queue (grading: submissions, regrade: runs).",
        labels=["queue"],
    )
    oldest = GaugeMetricFamily(
        "downstack_oldest_queued_seconds",
        "Seconds since the oldest job still waiting in the queue was created (0 when none "
        "waits), by Celery queue.",
        labels=["queue"],
    )
    now = timezone.now()
    for kind, queue, model in JOB_KINDS:
        queued = Q(status=JobStatus.QUEUED)
        row = model.objects.aggregate(
            infra=Coalesce(Sum("infra_failures"), 0),
            claims=Coalesce(Sum("deliveries"), 0),
            claimed=Count("pk", filter=Q(deliveries__gt=0)),
            requeues=Coalesce(Sum("requeues"), 0),
            depth=Count("pk", filter=queued),
            oldest=Min("created_at", filter=queued),
        )
        infra.add_metric([kind], row["infra"])
        retries.add_metric([kind], row["claims"] - row["claimed"])
        requeues.add_metric([kind], row["requeues"])
        depth.add_metric([queue], row["depth"])
        waited = (now - row["oldest"]).total_seconds() if row["oldest"] else 0.0
        oldest.add_metric([queue], max(waited, 0.0))
    return (infra, retries, requeues, depth, oldest)


def worker_heartbeats() -> Iterable[Metric]:
    """Each worker's last heartbeat and whether its Docker engine answered then."""
    last_seen = GaugeMetricFamily(
        "downstack_worker_last_heartbeat_timestamp_seconds",
        "When the worker last wrote its heartbeat (Unix time).",
        labels=["worker"],
    )
    engine_up = GaugeMetricFamily(
        "downstack_worker_engine_up",
        "1 if the worker's Docker engine answered at its last heartbeat, else 0.",
        labels=["worker"],
    )
    for hostname, seen_at, engine_ok in WorkerHeartbeat.objects.values_list(
        "hostname", "last_seen_at", "engine_ok"
    ):
        last_seen.add_metric([hostname], seen_at.timestamp())
        engine_up.add_metric([hostname], 1 if engine_ok else 0)
    return (last_seen, engine_up)


# A registry of its own: the global one would add this process's own metrics (its
# memory, its GC), which differ between processes and say nothing about grading.
REGISTRY = CollectorRegistry()
REGISTRY.register(GradingCollector())
