"""The database connection dropped while a result is stored: nothing half-written stays
(only the checks streamed while it ran), and the reaper's retry stores one whole result."""

import psycopg
import pytest
from django.db import DatabaseError, close_old_connections, connection

from grading import pipeline, queue
from grading.intake import submission_create
from grading.models import LabProgress, Submission, TestResult
from grading.reaper import submissions_reap
from tests.faults.injection import NAPPING_CHECKS, NAPPING_SCORE, past_every_deadline

pytestmark = [
    pytest.mark.docker,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="terminates the grading connection's backend with PostgreSQL's "
        "pg_terminate_backend; SQLite has no server connection to drop (CI runs PostgreSQL)",
    ),
]


def terminate(backend_pid: int) -> None:
    """End a backend from a second connection, as a database failover or restart would."""
    db = connection.settings_dict
    with psycopg.connect(
        dbname=db["NAME"],
        user=db["USER"],
        password=db["PASSWORD"] or None,
        host=db["HOST"] or None,
        port=db["PORT"] or None,
        autocommit=True,
    ) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [backend_pid])


def test_connection_dropped_while_storing_a_result_leaves_no_partial_rows_and_is_retried(
    napping_lab, learner, grader_image, transactional_db, monkeypatch
):
    lab = napping_lab(0)
    submission = submission_create(user=learner, lab=lab, files={"main.py": b"print(1)\n"})
    replace_tests = pipeline.tests_replace

    def replace_tests_after_the_drop(*args, **kwargs):
        # The submission row is already updated inside the result's transaction.
        terminate(connection.connection.info.backend_pid)
        monkeypatch.setattr(pipeline, "tests_replace", replace_tests)
        replace_tests(*args, **kwargs)

    monkeypatch.setattr(pipeline, "tests_replace", replace_tests_after_the_drop)
    with pytest.raises(DatabaseError):
        pipeline.submission_grade(submission_id=submission.pk)
    close_old_connections()  # what the worker does between tasks

    kept = Submission.objects.get(pk=submission.pk)
    assert kept.status == Submission.Status.RUNNING and kept.claim_token is not None
    assert kept.score is None and kept.finished_at is None
    # What stays is only the live view the checker streamed while it ran (grading.live),
    # each check once: the result's own transaction left nothing.
    streamed = TestResult.objects.filter(submission=submission)
    assert sorted(streamed.values_list("position", flat=True)) == list(range(streamed.count()))
    assert streamed.count() <= NAPPING_CHECKS
    assert not LabProgress.objects.filter(user=learner, lab=lab).exists()

    # The worker is gone with its message acknowledged; the reaper sends it again, and
    # the message is handled here, in this process.
    monkeypatch.setattr(queue, "submission_send", pipeline.submission_grade)
    assert submissions_reap(now=past_every_deadline()) == [submission.pk]

    graded = Submission.objects.get(pk=submission.pk)
    assert graded.status == Submission.Status.GRADED and graded.deliveries == 2
    assert graded.score == graded.max_score == NAPPING_SCORE
    tests = TestResult.objects.filter(submission=submission)
    assert sorted(tests.values_list("position", flat=True)) == list(range(NAPPING_CHECKS))
    assert sum(t.score for t in tests) == graded.score
    assert LabProgress.objects.get(user=learner, lab=lab).attempts == 1
