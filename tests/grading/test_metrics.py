"""Grading's Prometheus metrics: computed from the rows at scrape time, every family by
lab, kind or queue, the histograms' buckets counted in the database; and a real worker's
grading and heartbeat showing up in /metrics."""

from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from grading.intake import submission_create
from grading.models import GradeRun, Submission, WorkerHeartbeat
from tests.worker_process import finished, wait_for

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def scrape(client: Client | None = None) -> dict[tuple[str, frozenset], float]:
    """GET /metrics as the loopback scraper: every sample, keyed by name and labels."""
    response = (client or Client()).get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def submission(lab, user, *, status, created_at=T0, **fields) -> Submission:
    row = Submission.objects.create(user=user, lab=lab, status=status, **fields)
    Submission.objects.filter(pk=row.pk).update(created_at=created_at)  # auto_now_add
    return row


def key(name: str, **labels) -> tuple[str, frozenset]:
    return (name, frozenset(labels.items()))


def histogram(name: str, lab: str, bounds, counts, total) -> dict:
    """The samples of one lab's histogram: cumulative `counts` per bound, then +Inf."""
    samples = {
        key(f"{name}_bucket", lab=lab, le=str(float(b))): n
        for b, n in zip(bounds, counts, strict=True)
    }
    samples[key(f"{name}_bucket", lab=lab, le="+Inf")] = counts[-1]
    samples[key(f"{name}_count", lab=lab)] = counts[-1]
    samples[key(f"{name}_sum", lab=lab)] = total
    return samples


@pytest.mark.django_db
def test_rows_in_the_database_give_exactly_the_expected_samples(scratch_lab, learner, make_regrade):
    lab_a = scratch_lab("metrics-a", "print('checker')\n")
    lab_b = scratch_lab("metrics-b", "print('checker')\n")
    s = timedelta(seconds=1)
    graded, error = Submission.Status.GRADED, Submission.Status.ERROR
    # lab a: three finished (waits 3 s, 45 s from creation as it was never sent, 0.5 s),
    # one queued after two infrastructure failures and a re-queue, one running.
    submission(
        lab_a,
        learner,
        status=graded,
        enqueued_at=T0 + s,
        started_at=T0 + 4 * s,
        duration_s=0.7,
        deliveries=1,
    )
    submission(
        lab_a,
        learner,
        status=graded,
        started_at=T0 + 45 * s,
        duration_s=12.0,
        timed_out=True,
        output_truncated=True,
        deliveries=1,
    )
    submission(
        lab_a,
        learner,
        status=error,
        enqueued_at=T0,
        started_at=T0 + 0.5 * s,
        duration_s=3.0,
        oom_killed=True,
        deliveries=1,
    )
    now = timezone.now()
    submission(
        lab_a,
        learner,
        status=Submission.Status.QUEUED,
        created_at=now - 120 * s,
        deliveries=2,
        infra_failures=2,
        requeues=1,
    )
    submission(lab_a, learner, status=Submission.Status.RUNNING, started_at=now, deliveries=1)
    # lab b: one, slow in the queue and in the sandbox.
    ran = submission(
        lab_b,
        learner,
        status=graded,
        enqueued_at=T0,
        started_at=T0 + 700 * s,
        duration_s=130.0,
        deliveries=1,
    )
    run = GradeRun.objects.create(
        submission=ran, regrade=make_regrade(lab_b), deliveries=3, infra_failures=1, requeues=2
    )
    GradeRun.objects.filter(pk=run.pk).update(created_at=now - 30 * s)
    seen = datetime(2025, 3, 1, 12, 30, tzinfo=UTC)
    WorkerHeartbeat.objects.create(hostname="w1@a", started_at=T0, last_seen_at=seen)
    WorkerHeartbeat.objects.create(
        hostname="w2@b", started_at=T0, last_seen_at=seen, engine_ok=False, engine_detail="no"
    )

    samples = scrape()

    oldest_grading = samples.pop(key("downstack_oldest_queued_seconds", queue="grading"))
    oldest_regrade = samples.pop(key("downstack_oldest_queued_seconds", queue="regrade"))
    assert 120 <= oldest_grading < 120 + 3600
    assert 30 <= oldest_regrade < 30 + 3600
    wait_bounds = (1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
    sandbox_bounds = (0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300)
    expected = {
        **{
            key("downstack_submissions", lab="metrics-a", status=status): n
            for status, n in (("queued", 1), ("running", 1), ("graded", 2), ("error", 1))
        },
        **{
            key("downstack_submissions", lab="metrics-b", status=status): n
            for status, n in (("queued", 0), ("running", 0), ("graded", 1), ("error", 0))
        },
        **histogram(
            "downstack_queue_wait_seconds",
            "metrics-a",
            wait_bounds,
            [1, 1, 2, 2, 2, 3, 3, 3, 3, 3, 3],
            48.5,
        ),
        **histogram(
            "downstack_queue_wait_seconds",
            "metrics-b",
            wait_bounds,
            [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1],
            700.0,
        ),
        **histogram(
            "downstack_sandbox_seconds",
            "metrics-a",
            sandbox_bounds,
            [0, 1, 1, 2, 2, 3, 3, 3, 3, 3],
            15.7,
        ),
        **histogram(
            "downstack_sandbox_seconds",
            "metrics-b",
            sandbox_bounds,
            [0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
            130.0,
        ),
        **{
            key("downstack_sandbox_verdicts_total", lab=lab, verdict=verdict): n
            for lab, n in (("metrics-a", 1), ("metrics-b", 0))
            for verdict in ("timeout", "oom", "output_truncated")
        },
        key("downstack_grading_infra_failures_total", kind="submission"): 2,
        key("downstack_grading_infra_failures_total", kind="regrade"): 1,
        # Claims after a job's first: the queued submission's second, the run's 2nd and 3rd.
        key("downstack_grading_retries_total", kind="submission"): 1,
        key("downstack_grading_retries_total", kind="regrade"): 2,
        key("downstack_reaper_requeues_total", kind="submission"): 1,
        key("downstack_reaper_requeues_total", kind="regrade"): 2,
        key("downstack_queue_depth", queue="grading"): 1,
        key("downstack_queue_depth", queue="regrade"): 1,
        key("downstack_worker_last_heartbeat_timestamp_seconds", worker="w1@a"): seen.timestamp(),
        key("downstack_worker_last_heartbeat_timestamp_seconds", worker="w2@b"): seen.timestamp(),
        key("downstack_worker_engine_up", worker="w1@a"): 1,
        key("downstack_worker_engine_up", worker="w2@b"): 0,
    }
    assert samples == pytest.approx(expected)


@pytest.mark.django_db
def test_an_empty_site_has_empty_queues_and_no_labs_or_workers():
    samples = scrape()

    assert samples == {
        key(name, **labels): 0
        for name in ("downstack_queue_depth", "downstack_oldest_queued_seconds")
        for labels in ({"queue": "grading"}, {"queue": "regrade"})
    } | {
        key(name, kind=kind): 0
        for name in (
            "downstack_grading_infra_failures_total",
            "downstack_grading_retries_total",
            "downstack_reaper_requeues_total",
        )
        for kind in ("submission", "regrade")
    }


@pytest.mark.django_db
def test_the_histograms_take_one_query_each_however_many_rows(
    scratch_lab, learner, django_assert_max_num_queries
):
    lab = scratch_lab("metrics-many", "print('checker')\n")
    for i in range(30):
        submission(
            lab,
            learner,
            status=Submission.Status.GRADED,
            enqueued_at=T0,
            started_at=T0 + timedelta(seconds=i),
            duration_s=float(i),
        )

    # Submissions by status, two histograms, verdicts, two job kinds, the heartbeats.
    with django_assert_max_num_queries(7):
        samples = scrape()

    assert samples[key("downstack_sandbox_seconds_count", lab="metrics-many")] == 30


@pytest.mark.docker
@pytest.mark.worker
def test_a_real_grading_and_its_workers_heartbeat_show_in_the_metrics(
    learner, hello_lab, grader_image, start_worker
):
    start_worker(GRADING_HEARTBEAT_S="1")
    reference = (settings.LABS_DIR / "hello-sandbox" / "solution" / "logparse.py").read_bytes()
    submission = submission_create(user=learner, lab=hello_lab, files={"logparse.py": reference})
    graded = wait_for(finished(submission.pk), timeout=120)
    assert graded.status == Submission.Status.GRADED and graded.score == graded.max_score
    beat = wait_for(lambda: WorkerHeartbeat.objects.filter(hostname=graded.worker).first())

    samples = scrape()

    lab = {"lab": "hello-sandbox"}
    assert samples[key("downstack_submissions", status="graded", **lab)] == 1
    assert samples[key("downstack_submissions", status="queued", **lab)] == 0
    assert samples[key("downstack_sandbox_seconds_count", **lab)] == 1
    assert samples[key("downstack_sandbox_seconds_sum", **lab)] == pytest.approx(graded.duration_s)
    assert samples[key("downstack_queue_wait_seconds_count", **lab)] == 1
    assert samples[key("downstack_queue_depth", queue="grading")] == 0
    last_beat = samples[
        key("downstack_worker_last_heartbeat_timestamp_seconds", worker=graded.worker)
    ]
    assert last_beat >= beat.last_seen_at.timestamp()
    assert samples[key("downstack_worker_engine_up", worker=graded.worker)] == 1
