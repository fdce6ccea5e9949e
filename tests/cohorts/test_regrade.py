"""Regrading: a dry run into scratch results that changes nothing until applied, then
apply (keeping the earlier result) or discard. The sandbox is faked at its one seam,
graders.run; the real sandbox and worker are in test_regrade_worker.py."""

import pytest
from django.urls import reverse

import graders
from cohorts.models import Membership, Regrade, regrade_changes
from cohorts.services import RegradeNotReady, regrade_apply, regrade_discard, regrade_start
from downstack.celery import app
from graders.results import Results, TestOutcome
from grading.models import GradeRun, LabProgress, Submission
from grading.pipeline import graderun_grade
from tests.sandboxes import run_result

pytestmark = pytest.mark.django_db


def fake_run(score):
    def run(**kwargs):
        tests = (
            TestOutcome(
                "kept", score, 10.0, "passed" if score == 10 else "failed", "", "visible", ()
            ),
        )
        return run_result(
            results=Results(score=score, max_score=10.0, output="regraded", tests=tests)
        )

    return run


@pytest.fixture
def lab_work(
    cohort, other_cohort, learner, other_learner, make_user, hello_lab, assign, graded_submission
):
    """ada scored 4 and bob 10 on hello-sandbox; linus (another cohort) scored 1."""
    bob = make_user("bob")
    cohort.add_member(bob, Membership.Role.LEARNER)
    assign(cohort, hello_lab)
    old = [("original check", "failed", "hidden")]
    return {
        "ada": graded_submission(learner, hello_lab, 4, tests=old),
        "bob": graded_submission(bob, hello_lab, 10, tests=old),
        "linus": graded_submission(other_learner, hello_lab, 1, tests=old),
        "bob_user": bob,
    }


def grade_all(regrade, monkeypatch, score):
    monkeypatch.setattr(graders, "run", fake_run(score))
    for run in regrade.runs.all():
        graderun_grade(run_id=run.pk)


def test_a_dry_run_changes_nothing_until_applied(
    cohort, hello_lab, instructor, lab_work, monkeypatch, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        regrade = regrade_start(cohort=cohort, lab=hello_lab, requested_by=instructor)
    assert len(callbacks) == 1  # the messages go out only once the runs are committed
    assert regrade.runs.all().count() == 2  # linus is in another cohort
    grade_all(regrade, monkeypatch, 7.0)

    ada = Submission.objects.get(pk=lab_work["ada"].pk)
    assert ada.score == 4 and list(ada.tests.values_list("name", flat=True)) == ["original check"]
    assert LabProgress.objects.get(user=ada.user, lab=hello_lab).best_percent == 40.0
    changes = regrade_changes(regrade)
    assert (changes["up"], changes["down"], changes["same"], changes["pending"]) == (1, 1, 0, 0)
    by_learner = {r["learner"].username: r["delta"] for r in changes["rows"]}
    assert by_learner == {"ada": pytest.approx(30.0), "bob": pytest.approx(-30.0)}

    assert regrade_apply(regrade=regrade) == 2
    ada.refresh_from_db()
    assert ada.score == 7 and ada.feedback == "regraded"
    assert list(ada.tests.values_list("name", flat=True)) == ["kept"]
    run = GradeRun.objects.get(submission=ada)
    assert ada.current_run == run
    assert run.previous["score"] == 4 and run.previous["tests"][0]["name"] == "original check"
    assert LabProgress.objects.get(user=ada.user, lab=hello_lab).best_percent == 70.0
    linus = Submission.objects.get(pk=lab_work["linus"].pk)
    assert linus.score == 1 and linus.current_run is None
    # After applying, the changes still read against the result each run replaced.
    assert regrade_changes(regrade)["up"] == 1


def test_applying_twice_changes_nothing_more(cohort, hello_lab, instructor, lab_work, monkeypatch):
    regrade = regrade_start(cohort=cohort, lab=hello_lab, requested_by=instructor)
    grade_all(regrade, monkeypatch, 7.0)
    regrade_apply(regrade=regrade)
    with pytest.raises(RegradeNotReady, match="already applied"):
        regrade_apply(regrade=regrade)
    assert GradeRun.objects.filter(applied_at__isnull=False).count() == 2


def test_a_regrade_still_grading_cannot_be_applied(cohort, hello_lab, instructor, lab_work):
    regrade = regrade_start(cohort=cohort, lab=hello_lab, requested_by=instructor)
    with pytest.raises(RegradeNotReady, match="still being regraded"):
        regrade_apply(regrade=regrade)
    assert Submission.objects.get(pk=lab_work["ada"].pk).score == 4


def test_discarding_keeps_every_result_and_cancels_queued_runs(
    cohort, hello_lab, instructor, lab_work, monkeypatch
):
    regrade = regrade_start(cohort=cohort, lab=hello_lab, requested_by=instructor)
    first = regrade.runs.all().first()
    monkeypatch.setattr(graders, "run", fake_run(9.0))
    graderun_grade(run_id=first.pk)
    regrade_discard(regrade=regrade)
    assert regrade.state == Regrade.State.DISCARDED
    assert Submission.objects.get(pk=lab_work["ada"].pk).score == 4
    assert Submission.objects.get(pk=lab_work["bob"].pk).score == 10
    assert not regrade.runs.all().pending().exists()
    assert graderun_grade(run_id=regrade.runs.all().exclude(pk=first.pk).get().pk) is None
    with pytest.raises(RegradeNotReady):
        regrade_apply(regrade=regrade)


def test_a_run_delivered_twice_is_graded_once(cohort, hello_lab, instructor, lab_work, monkeypatch):
    regrade = regrade_start(
        cohort=cohort, lab=hello_lab, requested_by=instructor, submission=lab_work["ada"]
    )
    run = regrade.runs.all().get()
    monkeypatch.setattr(graders, "run", fake_run(8.0))
    assert graderun_grade(run_id=run.pk).score == 8
    assert graderun_grade(run_id=run.pk) is None


def test_regrade_scopes_one_learner_or_one_submission(
    cohort, hello_lab, instructor, learner, lab_work, graded_submission
):
    graded_submission(learner, hello_lab, 5)
    by_learner = regrade_start(
        cohort=cohort, lab=hello_lab, requested_by=instructor, learner=learner
    )
    assert {r.submission.user for r in by_learner.runs.all()} == {learner}
    assert by_learner.runs.all().count() == 2
    one = regrade_start(
        cohort=cohort, lab=hello_lab, requested_by=instructor, submission=lab_work["bob"]
    )
    assert [r.submission_id for r in one.runs.all()] == [lab_work["bob"].pk]


def test_regrades_go_to_their_own_queue_and_fresh_submissions_to_grading():
    assert app.amqp.router.route({}, "grading.regrade_run", args=("x",))["queue"].name == "regrade"
    assert app.amqp.router.route({}, "grading.grade_submission")["queue"].name == "grading"


def test_the_regrade_page_shows_who_goes_up_and_down_then_applies(
    client, cohort, hello_lab, instructor, lab_work, monkeypatch
):
    client.force_login(instructor)
    response = client.post(
        reverse("cohorts:regrade_create", args=[cohort.pk]), {"lab": "hello-sandbox"}
    )
    regrade = Regrade.objects.get()
    assert response["Location"] == regrade.get_absolute_url()
    page = client.get(regrade.get_absolute_url()).content.decode()
    assert "2 still grading" in page and 'http-equiv="refresh"' in page
    grade_all(regrade, monkeypatch, 7.0)
    page = client.get(regrade.get_absolute_url()).content.decode()
    assert "1 up · 1 down · 0 unchanged" in page
    assert "▲ +30.0 points" in page and "▼ -30.0 points" in page
    client.post(reverse("cohorts:regrade_apply", args=[cohort.pk, regrade.pk]))
    assert Submission.objects.get(pk=lab_work["ada"].pk).score == 7


def test_an_instructor_cannot_regrade_a_submission_outside_their_cohort(
    client, cohort, instructor, lab_work
):
    client.force_login(instructor)
    response = client.post(
        reverse("cohorts:regrade_create", args=[cohort.pk]),
        {"lab": "hello-sandbox", "submission": lab_work["linus"].pk},
    )
    assert response.status_code == 404
    assert not Regrade.objects.exists()


def test_a_regrade_that_times_out_keeps_the_checks_made_before_it(
    cohort, hello_lab, instructor, lab_work, monkeypatch
):
    from graders.results import Expected

    def timed_out(**kwargs):
        return run_result(
            exit_code=None,
            duration_s=60.0,
            timed_out=True,
            limits=graders.Limits(timeout_s=60),
            streamed=(TestOutcome("first", 6.0, 6.0, "passed", "", "visible", ()),),
            running="second",
            expected=(Expected("first", 6, "visible"), Expected("second", 4, "visible")),
        )

    regrade = regrade_start(cohort=cohort, lab=hello_lab, requested_by=instructor)
    monkeypatch.setattr(graders, "run", timed_out)
    for run in regrade.runs.all():
        graderun_grade(run_id=run.pk)
    run = GradeRun.objects.get(regrade=regrade, submission=lab_work["ada"])
    assert (run.score, run.max_score) == (6, 10)
    assert [(t["name"], t["score"]) for t in run.tests] == [("first", 6), ("second", 0)]
    assert "“second” was running when time ran out" in run.status_detail
