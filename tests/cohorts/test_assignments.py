"""Assignments: due dates in the catalog, late policies, after-due-date checks, first opening."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import profile_for
from cohorts.models import Assignment, Membership
from grading.intake import submission_create
from grading.models import LabOpening, Submission, check_visible_to_learner
from grading.uploads import SubmissionRejected
from tests.lab_page import refused_page

pytestmark = pytest.mark.django_db
NOW = timezone.now()


@pytest.mark.parametrize(
    ("visibility", "due_at", "shown"),
    [
        ("visible", None, True),
        ("hidden", None, False),
        ("hidden", NOW - timedelta(days=1), False),
        ("after_due_date", None, False),  # no assignment: as before, never shown
        ("after_due_date", NOW + timedelta(minutes=1), False),
        ("after_due_date", NOW - timedelta(minutes=1), True),
        ("after_due_date", NOW, True),
        ("after_published", NOW - timedelta(days=1), False),
    ],
)
def test_which_checks_a_learner_may_read(visibility, due_at, shown):
    assert check_visible_to_learner(visibility, due_at=due_at, now=NOW) is shown


@pytest.fixture
def after_due_submission(learner, hello_lab, graded_submission):
    return graded_submission(
        learner,
        hello_lab,
        3,
        tests=[
            ("visible check", "passed", "visible"),
            ("revealed later", "failed", "after_due_date"),
        ],
    )


def test_after_due_date_checks_stay_hidden_until_the_learners_due_date(
    client, cohort, learner, hello_lab, assign, after_due_submission
):
    assignment = assign(cohort, hello_lab, due_in_days=2)
    client.force_login(learner)
    page = client.get(after_due_submission.get_absolute_url()).content.decode()
    assert "revealed later" not in page and "Hidden checks: 0 passed, 1 failed." in page
    Assignment.objects.filter(pk=assignment.pk).update(due_at=timezone.now() - timedelta(hours=1))
    page = client.get(after_due_submission.get_absolute_url()).content.decode()
    assert "revealed later" in page and "output of revealed later" in page


def test_without_an_assignment_after_due_date_checks_stay_hidden(
    client, learner, after_due_submission
):
    client.force_login(learner)
    page = client.get(after_due_submission.get_absolute_url()).content.decode()
    assert "revealed later" not in page


def test_a_learner_in_two_cohorts_waits_for_the_later_due_date(
    client, cohort, other_cohort, learner, hello_lab, assign, after_due_submission
):
    assign(cohort, hello_lab, due_in_days=-1)
    other_cohort.add_member(learner, Membership.Role.LEARNER)
    assign(other_cohort, hello_lab, due_in_days=3)
    client.force_login(learner)
    page = client.get(after_due_submission.get_absolute_url()).content.decode()
    assert "revealed later" not in page


def test_the_api_follows_the_same_due_date_rule(
    client, cohort, learner, hello_lab, assign, after_due_submission
):
    from accounts.models import ApiToken

    assign(cohort, hello_lab, due_in_days=-1)
    _, key = ApiToken.issue(user=learner, name="test")
    data = client.get(
        f"/api/v1/submissions/{after_due_submission.pk}/", HTTP_AUTHORIZATION=f"Bearer {key}"
    ).json()
    assert "revealed later" in [t["name"] for t in data["tests"]]


def test_learners_see_their_due_dates_in_the_catalog(
    client, cohort, learner, other_learner, hello_lab, assign
):
    assignment = assign(cohort, hello_lab, due_in_days=3, policy="close")
    client.force_login(learner)
    page = client.get(reverse("catalog:lab_list")).content.decode()
    local = timezone.localtime(assignment.due_at)
    assert f'Due <time datetime="{local.isoformat()}">' in page
    assert "closes then" in page
    client.force_login(other_learner)  # not in the cohort: no due date
    assert "Due <time" not in client.get(reverse("catalog:lab_list")).content.decode()


def test_opening_a_lab_page_records_the_first_opening_only(client, learner, hello_lab):
    client.force_login(learner)
    client.get(hello_lab.get_absolute_url())
    first = LabOpening.objects.get(user=learner, lab=hello_lab).first_opened_at
    client.get(hello_lab.get_absolute_url())
    assert LabOpening.objects.get(user=learner, lab=hello_lab).first_opened_at == first


@pytest.mark.parametrize(
    ("policy", "late_by", "expected"),
    [
        ("penalty", timedelta(0), 80.0),
        ("penalty", timedelta(hours=1), 70.0),  # a started day counts
        ("penalty", timedelta(days=2, hours=3), 50.0),
        ("penalty", timedelta(days=30), 0.0),  # never below zero
        ("close", timedelta(0), 80.0),
        ("close", timedelta(seconds=1), None),
    ],
)
def test_late_policy_applied_to_a_score(cohort, hello_lab, assign, policy, late_by, expected):
    assignment = assign(cohort, hello_lab, policy=policy, penalty=10)
    assert assignment.counted_percent(80.0, assignment.due_at + late_by) == expected


def test_an_instructor_assigns_a_lab_with_dates_and_a_late_policy(
    client, cohort, instructor, hello_lab
):
    client.force_login(instructor)
    response = client.post(
        reverse("cohorts:assignments", args=[cohort.pk]),
        {
            "action": "assign",
            "lab": hello_lab.pk,
            "opens_at": "2026-01-05T09:00",
            "due_at": "2026-01-12T17:00",
            "late_policy": "penalty",
            "penalty_per_day": 15,
        },
    )
    assert response.status_code == 302
    assignment = cohort.assignments.get()
    assert assignment.penalty_per_day == 15 and assignment.due_at.day == 12


def test_a_due_date_before_the_opening_is_refused(client, cohort, instructor, hello_lab):
    client.force_login(instructor)
    response = client.post(
        reverse("cohorts:assignments", args=[cohort.pk]),
        {
            "action": "assign",
            "lab": hello_lab.pk,
            "opens_at": "2026-01-12T09:00",
            "due_at": "2026-01-05T17:00",
            "late_policy": "close",
            "penalty_per_day": 0,
        },
    )
    assert response.status_code == 400
    assert "must come after the opening" in response.content.decode()
    assert not cohort.assignments.exists()


def test_a_lab_closed_at_its_due_date_refuses_work_and_keeps_the_editor_text(
    client, cohort, learner, hello_lab, assign, settings
):
    settings.TIME_ZONE = "UTC"
    closed = assign(cohort, hello_lab, due_in_days=-1, policy="close")
    client.force_login(learner)

    response = client.post(
        reverse("catalog:submission_create", args=[hello_lab.slug]),
        {"source": "editor", "editor:logparse.py": "print('late')\n"},
    )

    page = refused_page(client, response, hello_lab)
    due = timezone.localtime(closed.due_at)
    assert f"closed at its due date, {due:%a %d %b %H:%M} (UTC), in {cohort.name}" in page
    assert "print(&#x27;late&#x27;)" in page  # the editor keeps the text
    assert not Submission.objects.exists()


@pytest.mark.parametrize(
    ("policy", "due_in_days", "other_cohort_open", "refused"),
    [
        ("close", 1, False, False),  # not yet due
        ("close", -1, False, True),
        ("penalty", -1, False, False),  # late work is taken, with a penalty
        ("close", -1, True, False),  # another of the learner's cohorts still takes it
    ],
)
def test_which_late_work_is_refused(
    cohort,
    other_cohort,
    learner,
    hello_lab,
    assign,
    policy,
    due_in_days,
    other_cohort_open,
    refused,
):
    assign(cohort, hello_lab, due_in_days=due_in_days, policy=policy)
    if other_cohort_open:
        other_cohort.add_member(learner, Membership.Role.LEARNER)
        assign(other_cohort, hello_lab, due_in_days=3, policy="close")

    if refused:
        with pytest.raises(SubmissionRejected, match="does not accept late work"):
            submission_create(user=learner, lab=hello_lab, files={"logparse.py": b"x = 1\n"})
        assert not Submission.objects.exists()
    else:
        submission_create(user=learner, lab=hello_lab, files={"logparse.py": b"x = 1\n"})
        assert Submission.objects.count() == 1


def test_a_closed_lab_stays_open_to_people_it_is_not_assigned_to(
    cohort, other_learner, hello_lab, assign
):
    assign(cohort, hello_lab, due_in_days=-1, policy="close")
    submission_create(user=other_learner, lab=hello_lab, files={"logparse.py": b"x = 1\n"})
    assert Submission.objects.count() == 1


def test_the_lab_page_shows_the_due_date_in_the_learners_time_zone(
    client, cohort, learner, hello_lab, assign
):
    assignment = assign(cohort, hello_lab, due_in_days=2)
    Assignment.objects.filter(pk=assignment.pk).update(
        due_at=datetime(2031, 3, 14, 21, 30, tzinfo=UTC)
    )
    profile = profile_for(learner)
    profile.time_zone = "Asia/Tokyo"
    profile.save()
    client.force_login(learner)
    page = client.get(hello_lab.get_absolute_url()).content.decode()
    # 21:30 UTC is 06:30 the next morning in Tokyo.
    assert (
        'Due <time datetime="2031-03-15T06:30:00+09:00">Sat 15 Mar 2031, 06:30 JST</time>' in page
    )
    assert "(Spring systems) · late work loses 10% a started day" in page
    assert "This lab closed" not in page


def test_the_lab_page_says_a_closed_lab_is_closed_before_the_learner_starts(
    client, cohort, learner, hello_lab, assign
):
    assign(cohort, hello_lab, due_in_days=-1, policy="close")
    client.force_login(learner)
    page = client.get(hello_lab.get_absolute_url()).content.decode()
    assert "This lab closed on" in page and "its due date in Spring systems" in page
    assert "a submission now is refused and does not count" in page


def test_a_practice_lab_page_shows_no_due_date(client, learner, hello_lab):
    client.force_login(learner)
    page = client.get(hello_lab.get_absolute_url()).content.decode()
    assert "Due <time" not in page and "This lab closed" not in page
