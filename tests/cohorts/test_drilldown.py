"""Instructors see their learners' submissions in full; nobody else's, and nobody sees theirs."""

import pytest
from django.urls import reverse

from cohorts.models import Membership
from grading.models import Submission

pytestmark = pytest.mark.django_db


@pytest.fixture
def work(learner, hello_lab, graded_submission):
    return graded_submission(
        learner,
        hello_lab,
        4,
        tests=[("shown check", "passed", "visible"), ("secret corner", "failed", "hidden")],
    )


def test_an_instructor_sees_a_learners_submission_with_hidden_checks_and_output(
    client, cohort, instructor, work
):
    assert Submission.objects.visible_to(instructor).filter(pk=work.pk).exists()
    client.force_login(instructor)
    page = client.get(work.get_absolute_url()).content.decode()
    assert "secret corner" in page and "output of secret corner" in page
    assert "Submitted by ada" in page


def test_the_learner_still_sees_hidden_checks_only_as_counts(client, cohort, learner, work):
    client.force_login(learner)
    page = client.get(work.get_absolute_url()).content.decode()
    assert "secret corner" not in page and "Hidden checks: 0 passed, 1 failed." in page


def test_an_instructor_of_another_cohort_cannot_see_the_submission(
    client, cohort, other_cohort, other_instructor, work
):
    assert not Submission.objects.visible_to(other_instructor).filter(pk=work.pk).exists()
    client.force_login(other_instructor)
    assert client.get(work.get_absolute_url()).status_code == 404


def test_a_fellow_learner_cannot_see_the_submission(client, cohort, other_learner, work):
    cohort.add_member(other_learner, Membership.Role.LEARNER)
    assert not Submission.objects.visible_to(other_learner).filter(pk=work.pk).exists()
    client.force_login(other_learner)
    assert client.get(work.get_absolute_url()).status_code == 404


def test_a_learner_who_teaches_elsewhere_does_not_see_their_fellow_learners(
    client, cohort, other_cohort, other_learner, work
):
    # linus learns beside ada in this cohort and teaches another: no view of ada's work.
    cohort.add_member(other_learner, Membership.Role.LEARNER)
    other_cohort.add_member(other_learner, Membership.Role.INSTRUCTOR)
    assert not Submission.objects.visible_to(other_learner).filter(pk=work.pk).exists()


def test_removing_a_learner_from_the_cohort_ends_the_instructors_view(
    cohort, instructor, learner, work
):
    cohort.memberships.filter(user=learner).delete()
    assert not Submission.objects.visible_to(instructor).filter(pk=work.pk).exists()


def test_the_drill_down_lists_every_submission_with_files_hidden_checks_and_timings(
    client, cohort, instructor, learner, hello_lab, assign, graded_submission, work
):
    assign(cohort, hello_lab)
    graded_submission(learner, hello_lab, 10, tests=[("shown check", "passed", "visible")])
    client.force_login(instructor)
    page = client.get(reverse("cohorts:learner", args=[cohort.pk, learner.pk])).content.decode()
    assert page.count('<details class="attempt">') == 2
    assert "output of secret corner" in page
    assert "Queued" in page and "finished" in page


def test_the_drill_down_refuses_someone_outside_the_cohort(
    client, cohort, instructor, other_learner
):
    client.force_login(instructor)
    url = reverse("cohorts:learner", args=[cohort.pk, other_learner.pk])
    assert client.get(url).status_code == 404
