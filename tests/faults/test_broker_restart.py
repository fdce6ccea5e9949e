"""Redis restarted with grading messages queued and nothing on disk: the messages are gone,
the rows are not, and the reaper sends them again so every one is graded exactly once."""

import pytest

from grading.intake import submission_create
from grading.models import Submission
from grading.reaper import submissions_reap
from tests.faults.injection import NAPPING_CHECKS, past_every_deadline
from tests.worker_process import finished, wait_for

pytestmark = [pytest.mark.docker, pytest.mark.worker]
SUBMISSIONS = 3


def test_submissions_queued_when_redis_restarts_are_all_graded_once(
    private_redis, napping_lab, learner, grader_image, start_worker
):
    lab = napping_lab(0)
    queued = [
        submission_create(user=learner, lab=lab, files={"main.py": b"print(1)\n"})
        for _ in range(SUBMISSIONS)
    ]
    assert private_redis.client.llen("grading") == SUBMISSIONS

    private_redis.crash()
    private_redis.start()
    assert private_redis.client.dbsize() == 0  # every message is lost

    worker = start_worker()
    assert all(Submission.objects.get(pk=s.pk).status == "queued" for s in queued)
    assert sorted(submissions_reap(now=past_every_deadline())) == sorted(s.pk for s in queued)
    graded = [wait_for(finished(s.pk)) for s in queued]

    assert all(s.status == Submission.Status.GRADED for s in graded), worker.output()[-3000:]
    assert [s.deliveries for s in graded] == [1] * SUBMISSIONS
    assert [s.tests.count() for s in graded] == [NAPPING_CHECKS] * SUBMISSIONS
    wait_for(lambda: worker.output().count("succeeded") >= SUBMISSIONS, timeout=30)
    assert worker.output().count("succeeded") == SUBMISSIONS
    assert "nothing to claim" not in worker.output()
