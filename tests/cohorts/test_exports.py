"""The gradebook CSV and the results JSON, exactly, for a small hand-built cohort."""

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cohorts.models import Cohort, Membership
from grading.models import Submission
from grading.progress import labprogress_refresh

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_hasher(settings):
    """Every learner here gets a password; a cheap hasher keeps making them quick."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def book(cohort, instructor, learner, make_user, plain_lab, assign, graded_submission):
    """ada, bob and cy on lab a (10%/day late penalty) and lab b (closes at the due date)."""
    bob, cy = make_user("bob"), make_user("cy")
    for user in (bob, cy):
        cohort.add_member(user, Membership.Role.LEARNER)
    a = assign(cohort, plain_lab("a"), due_in_days=-10, policy="penalty", penalty=10)
    b = assign(cohort, plain_lab("b"), due_in_days=-5, policy="close")
    day = timedelta(days=1)
    graded_submission(learner, a.lab, 6, at=a.due_at - day)
    graded_submission(learner, a.lab, 10, at=a.due_at + day + timedelta(hours=1))  # 2 days late
    graded_submission(learner, b.lab, 9, at=b.due_at - day)
    graded_submission(bob, b.lab, 10, at=b.due_at + timedelta(minutes=5))  # closed: not counted
    graded_submission(cy, a.lab, 5, at=a.due_at - day)
    graded_submission(cy, b.lab, 7, at=b.due_at - 2 * day)
    graded_submission(cy, b.lab, 4, at=b.due_at - day)
    # A grader error is never a result.
    error = graded_submission(cy, a.lab, 10, at=a.due_at - day)
    Submission.objects.filter(pk=error.pk).update(status=Submission.Status.ERROR)
    labprogress_refresh(user_id=cy.pk, lab_id=a.lab_id)  # as the pipeline does after a run
    return cohort


def gradebook(client, cohort):
    response = client.get(reverse("cohorts:gradebook_csv", args=[cohort.pk]))
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv"
    return b"".join(response.streaming_content).decode()


def test_gradebook_with_best_scores_applies_late_penalties_and_leaves_missing_work_empty(
    client, book, instructor
):
    client.force_login(instructor)
    assert gradebook(client, book) == (
        "learner,a (%),b (%),late work\r\n"
        'ada,80.00,90.00,"a: the counted attempt was 2 days late, with the penalty taken"\r\n'
        "bob,,,b: 1 attempt after the lab closed at its due date: not counted\r\n"
        "cy,50.00,70.00,\r\n"
    )


def test_gradebook_with_last_scores(client, book, instructor):
    Cohort.objects.filter(pk=book.pk).update(score_policy="last")
    client.force_login(instructor)
    assert gradebook(client, book) == (
        "learner,a (%),b (%),late work\r\n"
        'ada,80.00,90.00,"a: the counted attempt was 2 days late, with the penalty taken"\r\n'
        "bob,,,b: 1 attempt after the lab closed at its due date: not counted\r\n"
        "cy,50.00,40.00,\r\n"
    )


def test_gradebook_queries_do_not_grow_with_learners(
    client, book, instructor, make_user, graded_submission
):
    client.force_login(instructor)
    with CaptureQueriesContext(connection) as small:
        gradebook(client, book)
    lab = book.assignments.first().lab
    for i in range(15):
        user = make_user(f"extra{i:02d}")
        book.add_member(user, Membership.Role.LEARNER)
        graded_submission(user, lab, 3)
    with CaptureQueriesContext(connection) as large:
        text = gradebook(client, book)
    assert len(text.splitlines()) == 1 + 3 + 15
    assert len(large) == len(small)


def test_results_json_holds_every_counted_submission_with_checks_and_late_days(
    client, book, instructor
):
    client.force_login(instructor)
    response = client.get(reverse("cohorts:results_json", args=[book.pk]))
    assert isinstance(response, StreamingHttpResponse)
    data = json.loads(b"".join(response.streaming_content))
    assert [lab["slug"] for lab in data["labs"]] == ["a", "b"]
    assert len(data["results"]) == 7  # the grader error is left out
    late = [r for r in data["results"] if r["learner"] == "ada" and r["days_late"]]
    assert late[0]["percent"] == 100.0 and late[0]["counted_percent"] == 80.0
    assert late[0]["counted"] is True and late[0]["late_work"] == "2 days late: −20 points"
    closed = [r for r in data["results"] if r["learner"] == "bob"]
    assert closed[0]["counted_percent"] is None and closed[0]["counted"] is False
    assert closed[0]["late_work"] == "1 day late, after the lab closed: not counted"
    on_time = [r for r in data["results"] if r["learner"] == "cy"]
    assert {r["late_work"] for r in on_time} == {""}


def test_an_empty_cohort_exports_a_header_and_an_empty_list(client, instructor):
    cohort = Cohort.objects.create(name="Empty")
    cohort.add_member(instructor, Membership.Role.INSTRUCTOR)
    client.force_login(instructor)
    assert gradebook(client, cohort) == "learner,late work\r\n"
    response = client.get(reverse("cohorts:results_json", args=[cohort.pk]))
    assert json.loads(b"".join(response.streaming_content))["results"] == []
