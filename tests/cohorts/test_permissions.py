"""Every instructor page, tried anonymously, as a learner of the cohort, as the instructor
of another cohort, as the cohort's instructor and as site staff."""

import pytest
from django.urls import reverse

from cohorts.models import Cohort, Membership, Regrade

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(cohort, other_cohort, hello_lab, assign, learner, graded_submission, instructor):
    assign(cohort, hello_lab)
    submission = graded_submission(learner, hello_lab, 5)
    regrade = Regrade.objects.create(cohort=cohort, lab=hello_lab, requested_by=instructor)
    return {"cohort": cohort, "learner": learner, "submission": submission, "regrade": regrade}


def instructor_requests(world):
    """(method, url, data) for every instructor URL of the cohort."""
    pk = world["cohort"].pk
    regrade = world["regrade"].pk
    return [
        ("get", reverse("cohorts:dashboard", args=[pk]), None),
        ("get", reverse("cohorts:roster", args=[pk]), None),
        ("post", reverse("cohorts:roster", args=[pk]), {"action": "invite", "invite-days": 3}),
        ("get", reverse("cohorts:assignments", args=[pk]), None),
        (
            "post",
            reverse("cohorts:assignments", args=[pk]),
            {
                "action": "settings",
                "settings-name": "Renamed",
                "settings-score_policy": "last",
                "settings-inactive_days": 5,
                "settings-stuck_attempts": 8,
                "settings-behind_labs": 2,
            },
        ),
        ("get", reverse("cohorts:learner", args=[pk, world["learner"].pk]), None),
        ("get", reverse("cohorts:gradebook_csv", args=[pk]), None),
        ("get", reverse("cohorts:results_json", args=[pk]), None),
        ("post", reverse("cohorts:regrade_create", args=[pk]), {"lab": "hello-sandbox"}),
        ("get", reverse("cohorts:regrade_detail", args=[pk, regrade]), None),
        ("post", reverse("cohorts:regrade_apply", args=[pk, regrade]), {}),
        ("post", reverse("cohorts:regrade_discard", args=[pk, regrade]), {}),
    ]


def test_anonymous_visitors_are_sent_to_log_in_from_every_instructor_page(client, world):
    for method, url, data in instructor_requests(world):
        response = getattr(client, method)(url, data)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/login/"), url


def test_a_learner_of_the_cohort_gets_not_found_on_every_instructor_page(client, world, learner):
    client.force_login(learner)
    for method, url, data in instructor_requests(world):
        assert getattr(client, method)(url, data).status_code == 404, url


def test_the_instructor_of_another_cohort_gets_not_found_on_every_instructor_page(
    client, world, other_instructor
):
    client.force_login(other_instructor)
    for method, url, data in instructor_requests(world):
        assert getattr(client, method)(url, data).status_code == 404, url
    assert Regrade.objects.count() == 1  # nothing was started through the refused POSTs


@pytest.mark.parametrize("who", ["instructor", "staff"])
def test_the_cohorts_instructor_and_site_staff_reach_every_instructor_page(
    client, world, who, request
):
    client.force_login(request.getfixturevalue(who))
    for method, url, data in instructor_requests(world):
        assert getattr(client, method)(url, data).status_code in (200, 302), url


def test_instructor_querysets_hold_only_the_cohorts_they_teach(
    cohort, other_cohort, instructor, learner, staff, django_user_model
):
    from django.contrib.auth.models import AnonymousUser

    assert list(Cohort.objects.taught_by(instructor)) == [cohort]
    assert list(Cohort.objects.taught_by(learner)) == []
    assert list(Cohort.objects.taught_by(AnonymousUser())) == []
    assert set(Cohort.objects.taught_by(staff)) == {cohort, other_cohort}
    # Site staff is is_staff, as for submissions: a superuser flag alone is not staff
    # (the dashboard would link to submission pages that answer 404).
    superuser = django_user_model.objects.create_user("root", is_superuser=True)
    assert list(Cohort.objects.taught_by(superuser)) == []
    # Teaching in two cohorts lists each once.
    other_cohort.add_member(instructor, Membership.Role.INSTRUCTOR)
    assert list(Cohort.objects.taught_by(instructor).order_by("name")) == [other_cohort, cohort]


def test_a_learner_sees_only_their_own_progress_page(client, cohort, other_cohort, learner):
    client.force_login(learner)
    assert client.get(reverse("cohorts:my_progress", args=[cohort.pk])).status_code == 200
    assert client.get(reverse("cohorts:my_progress", args=[other_cohort.pk])).status_code == 404
