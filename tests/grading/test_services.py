"""The grading pipeline against the real sandbox: scores, errors, duplicates, no Docker,
and the job lifecycle (claims, leases, the reaper)."""

import threading
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

import graders
from grading import jobs, queue
from grading.intake import submission_create
from grading.models import GradeRun, Submission
from grading.pipeline import submission_grade
from grading.reaper import submissions_reap
from grading.tasks import grade_submission
from grading.uploads import SubmissionRejected
from tests.worker_process import wait_for

LAB = Path(__file__).resolve().parents[2] / "labs" / "hello-sandbox"
pytestmark = [pytest.mark.django_db]


def files_of(part: str) -> dict[str, bytes]:
    return {"logparse.py": (LAB / part / "logparse.py").read_bytes()}


@pytest.mark.docker
def test_reference_solution_gets_full_marks_with_sandbox_facts(hello_lab, learner, grader_image):
    submission = submission_create(user=learner, lab=hello_lab, files=files_of("solution"))
    graded = submission_grade(submission_id=submission.pk)
    assert graded.status == Submission.Status.GRADED
    assert graded.score == graded.max_score == 10
    assert graded.passed()
    assert graded.tests.count() == 12
    assert graded.tests.filter(visibility="hidden").count() == 6
    assert graded.started_at <= graded.finished_at
    assert graded.exit_code == 0 and graded.duration_s > 0
    assert not graded.timed_out and not graded.oom_killed
    assert graded.image == grader_image


@pytest.mark.docker
def test_forged_result_from_learner_code_scores_zero(hello_lab, learner, grader_image):
    files = {"logparse.py": (LAB / "variants" / "forge-result" / "logparse.py").read_bytes()}
    submission = submission_create(user=learner, lab=hello_lab, files=files)
    graded = submission_grade(submission_id=submission.pk)
    assert graded.status == Submission.Status.GRADED
    assert graded.score == 0 and graded.max_score == 10


@pytest.mark.docker
def test_same_message_delivered_twice_grades_once(hello_lab, learner, grader_image):
    submission = submission_create(user=learner, lab=hello_lab, files=files_of("solution"))
    grade_submission.apply(args=[str(submission.pk)])
    first = Submission.objects.get(pk=submission.pk)
    grade_submission.apply(args=[str(submission.pk)])
    again = Submission.objects.get(pk=submission.pk)
    assert again.deliveries == 1
    assert again.finished_at == first.finished_at
    assert again.tests.count() == 12


@pytest.mark.docker
def test_checker_printing_malformed_results_is_a_grader_error_never_a_score(
    scratch_lab, learner, grader_image
):
    lab = scratch_lab("bad-json", 'print(\'{"score": 10, "max_score": 10, "tests": [\')\n')
    submission = submission_create(user=learner, lab=lab, files={"main.py": b"print(1)\n"})
    graded = submission_grade(submission_id=submission.pk)
    assert graded.status == Submission.Status.ERROR
    assert graded.score is None and graded.tests.count() == 0
    assert "does not count as an attempt" in graded.status_detail
    assert not graded.counts_as_attempt()


@pytest.mark.docker
def test_checker_printing_oversized_results_is_a_grader_error(scratch_lab, learner, grader_image):
    checker = """
        import json
        print(json.dumps({"score": 1, "max_score": 1, "output": "x" * 2_000_000}))
    """
    lab = scratch_lab("huge-json", checker)
    submission = submission_create(user=learner, lab=lab, files={"main.py": b"print(1)\n"})
    graded = submission_grade(submission_id=submission.pk)
    assert graded.status == Submission.Status.ERROR
    assert graded.score is None


@pytest.mark.docker
def test_checker_scoring_above_max_is_a_grader_error(scratch_lab, learner, grader_image):
    lab = scratch_lab("over-max", 'print(\'{"score": 11, "max_score": 10}\')\n')
    submission = submission_create(user=learner, lab=lab, files={"main.py": b"print(1)\n"})
    assert submission_grade(submission_id=submission.pk).status == Submission.Status.ERROR


def test_docker_unavailable_keeps_the_submission_queued_with_a_clear_status(
    hello_lab, learner, monkeypatch
):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    submission = submission_create(user=learner, lab=hello_lab, files=files_of("solution"))
    # Run eagerly, every retry happens at once until they run out.
    outcome = grade_submission.apply(args=[str(submission.pk)])
    assert outcome.state == "FAILURE"
    kept = Submission.objects.get(pk=submission.pk)
    assert kept.status == Submission.Status.QUEUED
    assert kept.infra_failures == grade_submission.max_retries + 1
    assert "will retry" in kept.status_detail.lower()
    assert "docker" in kept.last_infra_error.lower()
    assert kept.files.get().content.read() == files_of("solution")["logparse.py"]
    assert kept.tests.count() == 0 and kept.score is None


@pytest.mark.docker
def test_after_docker_returns_the_kept_submission_is_graded(
    hello_lab, learner, monkeypatch, grader_image
):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    submission = submission_create(user=learner, lab=hello_lab, files=files_of("solution"))
    with pytest.raises(graders.InfrastructureError):
        submission_grade(submission_id=submission.pk)
    monkeypatch.delenv("DOCKER_HOST")
    graded = submission_grade(submission_id=submission.pk, worker="w2@host")
    assert graded.status == Submission.Status.GRADED and graded.passed()
    assert graded.infra_failures == 1
    assert graded.worker == "w2@host"


def _claimed(submission, *, lease_left_s: float) -> None:
    """Mark a submission claimed by a worker whose lease ends `lease_left_s` from now."""
    now = timezone.now()
    Submission.objects.filter(pk=submission.pk).update(
        status="running",
        started_at=now,
        claim_token=uuid.uuid4(),
        lease_expires_at=now + timedelta(seconds=lease_left_s),
    )


def test_reaper_requeues_lapsed_leases_and_lost_messages_and_nothing_else(
    hello_lab, learner, monkeypatch
):
    sent = []
    monkeypatch.setattr(
        queue, "submission_send", lambda *, submission_id: sent.append(submission_id)
    )
    lapsed = submission_create(user=learner, lab=hello_lab, files=files_of("solution"))
    _claimed(lapsed, lease_left_s=-1)
    held = submission_create(user=learner, lab=hello_lab, files=files_of("solution"))
    _claimed(held, lease_left_s=settings.GRADING_LEASE_S)
    lost = submission_create(user=learner, lab=hello_lab, files=files_of("solution"))
    Submission.objects.filter(pk=lost.pk).update(
        enqueued_at=timezone.now() - timedelta(seconds=settings.GRADING_REQUEUE_AFTER_S + 5)
    )
    waiting = submission_create(user=learner, lab=hello_lab, files=files_of("solution"))
    Submission.objects.filter(pk=waiting.pk).update(enqueued_at=timezone.now())

    reaped = submissions_reap()
    assert sorted(reaped) == sorted(sent) == sorted([lapsed.pk, lost.pk])
    requeued = Submission.objects.get(pk=lapsed.pk)
    assert requeued.status == "queued" and requeued.claim_token is None
    assert requeued.lease_expires_at is None and requeued.started_at is None
    assert requeued.status_detail == jobs.REQUEUED
    assert Submission.objects.get(pk=held.pk).status == "running"
    assert Submission.objects.get(pk=waiting.pk).status == "queued"
    # Each re-queue is counted on its row (the metrics sum them).
    counts = dict(Submission.objects.values_list("pk", "requeues"))
    assert counts == {lapsed.pk: 1, lost.pk: 1, held.pk: 0, waiting.pk: 0}


def test_a_lease_lapses_only_after_its_length_and_a_claim_before_leases_after_the_hard_limit(
    hello_lab, learner
):
    submission = submission_create(user=learner, lab=hello_lab, files=files_of("solution"))
    token = jobs.claim(Submission, submission.pk)
    claimed = Submission.objects.get(pk=submission.pk)
    lease = claimed.lease_expires_at - claimed.started_at
    assert lease == timedelta(seconds=settings.GRADING_LEASE_S)
    assert jobs.requeue_lapsed(Submission, now=claimed.lease_expires_at) == []
    after = claimed.lease_expires_at + timedelta(microseconds=1)
    assert jobs.requeue_lapsed(Submission, now=after) == [submission.pk]
    assert jobs.store(Submission, submission.pk, token=token, status="graded") is False

    # A row claimed before leases existed: it lapses once it outran the hard limit.
    Submission.objects.filter(pk=submission.pk).update(
        status="running", started_at=claimed.started_at, lease_expires_at=None
    )
    hard = claimed.started_at + timedelta(seconds=settings.GRADING_HARD_TIME_LIMIT_S)
    assert jobs.requeue_lapsed(Submission, now=hard) == []
    assert jobs.requeue_lapsed(Submission, now=hard + timedelta(seconds=1)) == [submission.pk]


def test_renewing_extends_the_lease_of_the_current_claim_only(hello_lab, learner):
    submission = submission_create(user=learner, lab=hello_lab, files=files_of("solution"))
    token = jobs.claim(Submission, submission.pk)
    Submission.objects.filter(pk=submission.pk).update(lease_expires_at=timezone.now())
    assert jobs.renew(Submission, submission.pk, token)
    renewed = Submission.objects.get(pk=submission.pk).lease_expires_at
    assert renewed > timezone.now() + timedelta(seconds=settings.GRADING_LEASE_S / 2)
    assert not jobs.renew(Submission, submission.pk, uuid.uuid4())


@pytest.mark.django_db(transaction=True)
def test_the_lease_is_renewed_while_the_work_runs_and_not_after(hello_lab, learner, settings):
    settings.GRADING_LEASE_S = 0.3  # renewals every 0.1 s
    submission = submission_create(user=learner, lab=hello_lab, files=files_of("solution"))
    token = jobs.claim(Submission, submission.pk)
    first = Submission.objects.get(pk=submission.pk).lease_expires_at

    def lease():
        return Submission.objects.get(pk=submission.pk).lease_expires_at

    with jobs.lease_renewed(Submission, submission.pk, token):
        wait_for(lambda: lease() > first, timeout=60)
    # The block has ended and so has its renewer, with its database connection.
    assert not [t for t in threading.enumerate() if t.name == f"lease-{submission.pk}"]


def test_result_of_a_reaped_run_cannot_overwrite_the_new_claim(hello_lab, learner):
    submission = submission_create(user=learner, lab=hello_lab, files=files_of("solution"))
    old_token = jobs.claim(Submission, submission.pk)
    jobs.release(Submission, submission.pk, token=old_token, reason="test")
    new_token = jobs.claim(Submission, submission.pk)
    assert new_token and new_token != old_token
    # The first worker's release and store after the re-claim must not touch the row.
    jobs.release(Submission, submission.pk, token=old_token, reason="late")
    assert not jobs.store(Submission, submission.pk, token=old_token, status="graded", score=1)
    row = Submission.objects.get(pk=submission.pk)
    assert row.status == "running" and row.claim_token == new_token and row.score is None


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({}, "Missing file: logparse.py"),
        ({"logparse.py": b""}, "logparse.py is empty"),
        ({"logparse.py": b"x" * (256 * 1024 + 1)}, "at most 262,144 bytes"),
        ({"logparse.py": b"x", "extra.py": b"y"}, "does not take extra.py"),
    ],
)
def test_bad_upload_is_rejected_with_a_specific_message_and_nothing_queued(
    hello_lab, learner, files, message
):
    with pytest.raises(SubmissionRejected, match=message):
        submission_create(user=learner, lab=hello_lab, files=files)
    assert not Submission.objects.exists()


@pytest.mark.docker
def test_the_learners_seed_reaches_the_checker(scratch_lab, learner, grader_image):
    checker = """
        import os
        from downstack_harness import Grader

        g = Grader()
        g.check("seed", True, output=os.environ.get("DOWNSTACK_SEED", "none"))
        g.emit()
    """
    lab = scratch_lab("seeded", checker, extra_toml="\n[grader]\nseeded = true\n")
    submission = submission_create(user=learner, lab=lab, files={"main.py": b"print(1)\n"})
    graded = submission_grade(submission_id=submission.pk)
    assert graded.seed == lab.seed_for(learner)
    assert graded.tests.get().output == str(lab.seed_for(learner))


def test_reaper_requeues_regrade_runs_with_lapsed_leases_and_lost(
    hello_lab, learner, monkeypatch, make_regrade
):
    sent = []
    monkeypatch.setattr(queue, "graderuns_send", lambda *, run_ids: sent.extend(run_ids))
    submission = submission_create(user=learner, lab=hello_lab, files=files_of("solution"))
    regrade = make_regrade(hello_lab)
    now = timezone.now()
    lost_at = now - timedelta(seconds=settings.GRADING_REQUEUE_AFTER_S + 5)

    def run(**fields):
        return GradeRun.objects.create(submission=submission, regrade=regrade, **fields)

    def running(lease_left_s):
        lease = now + timedelta(seconds=lease_left_s)
        return run(
            status="running", started_at=now, claim_token=uuid.uuid4(), lease_expires_at=lease
        )

    lapsed = running(-1)
    held = running(settings.GRADING_LEASE_S)
    lost = run(enqueued_at=lost_at)
    waiting = run(enqueued_at=now)
    assert set(submissions_reap()) == set(sent) == {lapsed.pk, lost.pk}
    lapsed.refresh_from_db()
    assert lapsed.status == "queued" and lapsed.claim_token is None and lapsed.started_at is None
    assert GradeRun.objects.get(pk=held.pk).status == "running"
    assert GradeRun.objects.get(pk=waiting.pk).status == "queued"


def test_reaper_sends_a_submission_whose_message_was_never_sent(hello_lab, learner, monkeypatch):
    sent = []
    monkeypatch.setattr(
        queue, "submission_send", lambda *, submission_id: sent.append(submission_id)
    )
    # Committed, but the process died before its on-commit hook sent the message.
    orphan = submission_create(user=learner, lab=hello_lab, files=files_of("solution"))
    assert Submission.objects.get(pk=orphan.pk).enqueued_at is None
    assert submissions_reap() == []
    later = timezone.now() + timedelta(seconds=settings.GRADING_REQUEUE_AFTER_S + 1)
    assert submissions_reap(now=later) == sent == [orphan.pk]


@pytest.mark.docker
@pytest.mark.parametrize("regrade", [False, True], ids=["submission", "regrade-run"])
def test_soft_time_limit_gives_the_claim_back_and_the_retry_grades(
    hello_lab, learner, grader_image, monkeypatch, regrade, make_regrade
):
    from celery.exceptions import SoftTimeLimitExceeded

    from grading.tasks import regrade_run

    real_run = graders.run

    def interrupted_once(**kwargs):
        monkeypatch.setattr(graders, "run", real_run)
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(graders, "run", interrupted_once)
    submission = submission_create(user=learner, lab=hello_lab, files=files_of("solution"))
    if regrade:
        row = GradeRun.objects.create(submission=submission, regrade=make_regrade(hello_lab))
        outcome = regrade_run.apply(args=[str(row.pk)])
    else:
        row = submission
        outcome = grade_submission.apply(args=[str(row.pk)])
    assert outcome.state == "SUCCESS", outcome.traceback
    row.refresh_from_db()
    assert row.status == "graded" and row.score == 10 and row.claim_token is None
    assert row.infra_failures == 1 and "soft time limit" in row.last_infra_error


@pytest.mark.docker
def test_included_starter_files_reach_the_checker_beside_its_own(
    scratch_lab, learner, grader_image
):
    checker = """
        from pathlib import Path
        from downstack_harness import Grader

        g = Grader()
        included = (Path(__file__).parent / "starter" / "main.py").read_text().strip()
        g.check("included", included == "print('starter')", output=included)
        g.emit()
    """
    lab = scratch_lab("includes", checker, extra_toml='\n[grader]\ninclude = ["starter/main.py"]\n')
    assert lab.grader_include == ["starter/main.py"]
    submission = submission_create(user=learner, lab=lab, files={"main.py": b"print(1)\n"})
    graded = submission_grade(submission_id=submission.pk)
    assert graded.tests.get().output == "print('starter')"
    assert graded.passed
