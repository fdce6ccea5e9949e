"""The operator's alert mail: a job the platform keeps failing mails ADMINS once, when
its infrastructure failures reach GRADING_ALERT_AFTER_FAILURES, and a mail that cannot
be sent never stops grading."""

import socket

import pytest
from django.core.exceptions import ImproperlyConfigured

import graders
from downstack import envconfig
from grading import jobs, pipeline
from grading.intake import submission_create
from grading.models import GradeRun, Submission


@pytest.fixture
def alerting(settings):
    settings.ADMINS = [("Ops", "ops@example.org")]
    settings.GRADING_ALERT_AFTER_FAILURES = 3


@pytest.fixture
def no_engine(monkeypatch, tmp_path):
    """The Docker engine does not answer: its socket does not exist."""
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-such.sock")


def fail_once(submission: Submission) -> None:
    """One grading attempt on an engine that does not answer: the pipeline gives the
    claim back as an infrastructure failure."""
    with pytest.raises(graders.InfrastructureError):
        pipeline.submission_grade(submission_id=submission.pk, worker="w1@host")


@pytest.mark.django_db
def test_the_nth_infrastructure_failure_mails_admins_exactly_once(
    alerting, no_engine, mailoutbox, learner, hello_lab
):
    submission = submission_create(user=learner, lab=hello_lab, files={"logparse.py": b"x"})

    for _ in range(2):
        fail_once(submission)
    assert mailoutbox == []

    fail_once(submission)
    assert len(mailoutbox) == 1
    for _ in range(3):
        fail_once(submission)

    submission.refresh_from_db()
    assert submission.infra_failures == 6
    assert submission.status == Submission.Status.QUEUED
    (mail,) = mailoutbox
    assert mail.to == ["ops@example.org"]
    assert mail.subject.startswith(f"[Downstack] submission {submission.pk} could not be graded 3")
    assert "Docker is not running" in mail.subject  # the last error, as the pipeline saw it
    assert submission.last_infra_error in mail.body


@pytest.mark.django_db
def test_a_regrade_run_that_keeps_failing_mails_too(
    alerting, mailoutbox, learner, hello_lab, make_regrade
):
    submission = submission_create(user=learner, lab=hello_lab, files={"logparse.py": b"x"})
    run = GradeRun.objects.create(submission=submission, regrade=make_regrade(hello_lab))

    for attempt in range(1, 5):
        token = jobs.claim(GradeRun, run.pk, worker="w1@host")
        jobs.release(GradeRun, run.pk, token=token, reason=f"engine gone ({attempt})")

    (mail,) = mailoutbox
    assert mail.subject == (
        f"[Downstack] grade run {run.pk} could not be graded 3 times: engine gone (3)"
    )


@pytest.mark.django_db
def test_without_admins_nothing_is_mailed(settings, no_engine, mailoutbox, learner, hello_lab):
    settings.ADMINS = []
    settings.GRADING_ALERT_AFTER_FAILURES = 1
    submission = submission_create(user=learner, lab=hello_lab, files={"logparse.py": b"x"})

    fail_once(submission)

    assert mailoutbox == []


@pytest.mark.django_db
def test_a_mail_server_that_does_not_answer_never_stops_grading(
    settings, alerting, no_engine, learner, hello_lab, caplog
):
    with socket.socket() as probe:  # a port where nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 2
    settings.GRADING_ALERT_AFTER_FAILURES = 1
    submission = submission_create(user=learner, lab=hello_lab, files={"logparse.py": b"x"})

    fail_once(submission)

    submission.refresh_from_db()
    assert submission.status == Submission.Status.QUEUED
    assert submission.infra_failures == 1
    assert "the alert mail to ADMINS was not sent" in caplog.text


def test_admins_come_from_named_or_plain_addresses(monkeypatch):
    monkeypatch.setenv("ADMINS", "Ops Team <ops@example.org>, oncall@example.org")

    assert envconfig.env_admins("ADMINS") == [
        ("Ops Team", "ops@example.org"),
        ("", "oncall@example.org"),
    ]


def test_a_bad_admins_value_stops_startup_naming_the_variable(monkeypatch):
    monkeypatch.setenv("ADMINS", "ops team")

    with pytest.raises(ImproperlyConfigured, match="ADMINS"):
        envconfig.env_admins("ADMINS")
