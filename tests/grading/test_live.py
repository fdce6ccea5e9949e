"""Storing a running submission's streamed checks (grading.live), without Docker: the
records are what the sandbox would pass on, and the database is the real one."""

import time

import pytest

import graders
from grading import jobs
from grading.intake import submission_create
from grading.live import LiveChecks
from grading.models import Submission, TestResult
from tests.worker_process import wait_for


def check(number: int) -> graders.Progress:
    return graders.Progress(
        check=graders.TestOutcome(
            name=f"case {number}",
            score=1.0,
            max_score=1.0,
            status="passed",
            output="",
            visibility="hidden" if number % 2 else "visible",
            tags=(),
        )
    )


@pytest.fixture
def claimed(hello_lab, learner):
    submission = submission_create(user=learner, lab=hello_lab, files={"logparse.py": b"x"})
    token = jobs.claim(Submission, submission.pk)
    assert token is not None
    return submission, token


class Counted(LiveChecks):
    """LiveChecks that counts its database writes."""

    writes = 0

    def _write(self) -> None:
        self.writes += 1
        super()._write()


@pytest.mark.django_db(transaction=True)
def test_a_chatty_checker_is_written_at_most_once_per_interval(claimed, settings):
    settings.GRADING_PROGRESS_WRITE_MS = 200
    submission, token = claimed
    live = Counted(submission.pk, token)
    started = time.monotonic()
    try:
        for number in range(300):
            live(check(number))
            live(graders.Progress(running=f"case {number + 1}"))
        elapsed = time.monotonic() - started
        # Everything arrives, the last records by the writer's own thread.
        wait_for(lambda: TestResult.objects.filter(submission=submission).count() == 300)
        wait_for(lambda: Submission.objects.get(pk=submission.pk).running_check == "case 300")
    finally:
        live.close()
    waited = time.monotonic() - started
    assert live.writes <= 2 + waited / 0.2, (live.writes, elapsed, waited)
    rows = list(TestResult.objects.filter(submission=submission).order_by("position"))
    assert [row.position for row in rows] == list(range(300))
    assert [row.name for row in rows[:3]] == ["case 0", "case 1", "case 2"]
    assert rows[1].visibility == "hidden"


@pytest.mark.django_db(transaction=True)
def test_a_lost_claim_writes_nothing_and_a_new_attempt_starts_clean(claimed):
    submission, token = claimed
    live = LiveChecks(submission.pk, token)
    live(check(1))
    live.close()
    assert TestResult.objects.filter(submission=submission).count() == 1
    # The lease lapsed and another worker claimed it: the first writes nothing more ...
    Submission.objects.filter(pk=submission.pk).update(status="queued", claim_token=None)
    second = jobs.claim(Submission, submission.pk)
    assert second is not None
    stale = LiveChecks(submission.pk, token)
    stale.close()
    # ... and the new attempt removed what the abandoned one had streamed.
    fresh = LiveChecks(submission.pk, second)
    assert TestResult.objects.filter(submission=submission).count() == 0
    fresh(check(2))
    stale(check(3))
    fresh.close()
    assert list(
        TestResult.objects.filter(submission=submission).values_list("name", flat=True)
    ) == ["case 2"]


@pytest.mark.django_db(transaction=True)
def test_nothing_is_written_after_close(claimed, settings):
    settings.GRADING_PROGRESS_WRITE_MS = 10_000
    submission, token = claimed
    live = LiveChecks(submission.pk, token)
    live(check(1))  # the first record is written at once
    live(check(2))  # the next waits for the interval
    live.close()
    live.written_at = -float("inf")  # even with the interval over
    live(check(3))
    assert list(
        TestResult.objects.filter(submission=submission).values_list("name", flat=True)
    ) == ["case 1"]
