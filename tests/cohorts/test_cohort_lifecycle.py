"""Creating, renaming, archiving and restoring cohorts: who may, what the lists show, and
that an archived cohort keeps its data and exports. Also the admin's cohort pages."""

import json

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from cohorts.models import Cohort, Membership

pytestmark = pytest.mark.django_db


@pytest.fixture
def appointed(make_user):
    """A user staff granted the instructor permission, on the user itself."""
    user = make_user("noether")
    user.user_permissions.add(Permission.objects.get(codename="create_cohort"))
    return user


def create(client, name="Winter systems"):
    return client.post(reverse("cohorts:new"), {"name": name})


def settings_post(client, cohort, action, **data):
    return client.post(reverse("cohorts:settings", args=[cohort.pk]), {"action": action, **data})


@pytest.mark.parametrize("who", ["staff", "appointed"])
def test_staff_and_appointed_instructors_create_a_cohort_and_teach_it(client, who, request):
    user = request.getfixturevalue(who)
    client.force_login(user)
    listing = client.get(reverse("cohorts:list")).content.decode()
    assert f'href="{reverse("cohorts:new")}"' in listing
    assert client.get(reverse("cohorts:new")).status_code == 200
    response = create(client)
    cohort = Cohort.objects.get(name="Winter systems")
    assert response["Location"] == reverse("cohorts:roster", args=[cohort.pk])
    assert cohort.memberships.get().user == user
    assert cohort.memberships.get().role == Membership.Role.INSTRUCTOR
    assert cohort in Cohort.objects.taught_by(user)
    roster = client.get(response["Location"]).content.decode()
    assert "Created Winter systems" in roster


def test_the_permission_also_works_through_a_group(client, make_user):
    instructors = Group.objects.create(name="Instructors")
    instructors.permissions.add(Permission.objects.get(codename="create_cohort"))
    user = make_user("lovelace")
    user.groups.add(instructors)
    client.force_login(user)
    assert create(client).status_code == 302


def test_anyone_else_sees_no_create_button_and_is_refused(client, learner, instructor, cohort):
    for user in (learner, instructor):  # teaching a cohort is not the permission to create
        client.force_login(user)
        assert reverse("cohorts:new") not in client.get(reverse("cohorts:list")).content.decode()
        assert client.get(reverse("cohorts:new")).status_code == 403
        assert create(client).status_code == 403
    assert not Cohort.objects.filter(name="Winter systems").exists()


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = create(client)
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_a_cohort_needs_a_name(client, staff):
    client.force_login(staff)
    response = create(client, name="   ")
    assert response.status_code == 400
    assert not Cohort.objects.exists()


def test_an_instructor_renames_their_cohort(client, instructor, cohort):
    client.force_login(instructor)
    response = settings_post(client, cohort, "rename", name="Spring systems 2027")
    assert response.status_code == 302
    cohort.refresh_from_db()
    assert cohort.name == "Spring systems 2027"


def test_only_the_cohorts_instructors_and_staff_reach_its_settings(
    client, cohort, learner, other_instructor, staff
):
    for user in (learner, other_instructor):
        client.force_login(user)
        assert client.get(reverse("cohorts:settings", args=[cohort.pk])).status_code == 404
        assert settings_post(client, cohort, "archive").status_code == 404
        assert settings_post(client, cohort, "rename", name="Mine now").status_code == 404
    cohort.refresh_from_db()
    assert (cohort.name, cohort.is_archived) == ("Spring systems", False)
    client.force_login(staff)
    assert settings_post(client, cohort, "archive").status_code == 302


def test_archiving_hides_the_cohort_from_every_list_but_keeps_it(
    client, cohort, instructor, learner, hello_lab, assign, graded_submission
):
    assign(cohort, hello_lab)
    graded_submission(learner, hello_lab, 7)
    client.force_login(instructor)
    response = settings_post(client, cohort, "archive")
    assert response["Location"] == reverse("cohorts:list")
    cohort.refresh_from_db()
    assert cohort.is_archived
    listing = client.get(reverse("cohorts:list")).content.decode()
    assert "Archived Spring systems" in listing  # the message, with where to find it
    assert reverse("cohorts:dashboard", args=[cohort.pk]) not in listing
    assert "Show archived cohorts" in listing

    client.force_login(learner)
    assert "Spring systems" not in client.get(reverse("cohorts:list")).content.decode()

    # Its pages and exports still work for its instructors, data intact.
    client.force_login(instructor)
    dashboard = client.get(reverse("cohorts:dashboard", args=[cohort.pk])).content.decode()
    assert "Archived on" in dashboard and "ada" in dashboard
    csv = b"".join(
        client.get(reverse("cohorts:gradebook_csv", args=[cohort.pk])).streaming_content
    ).decode()
    assert "ada" in csv and "70" in csv
    results = json.loads(
        b"".join(client.get(reverse("cohorts:results_json", args=[cohort.pk])).streaming_content)
    )
    assert results
    assert cohort.memberships.count() == 2


def test_an_archived_cohort_is_found_under_show_archived_and_restored(
    client, cohort, other_cohort, instructor, learner
):
    cohort.archive()
    client.force_login(instructor)
    archived = client.get(reverse("cohorts:list") + "?archived=1").content.decode()
    assert "Archived cohorts" in archived and "Spring systems" in archived
    assert "Autumn systems" not in archived  # not theirs
    assert settings_post(client, cohort, "restore").status_code == 302
    cohort.refresh_from_db()
    assert not cohort.is_archived
    client.force_login(learner)
    assert "Spring systems" in client.get(reverse("cohorts:list")).content.decode()


def test_archiving_twice_keeps_the_first_date(cohort):
    cohort.archive()
    first = cohort.archived_at
    cohort.archive()
    assert Cohort.objects.get(pk=cohort.pk).archived_at == first


def test_admin_lists_cohorts_memberships_invites_and_assignments(
    admin_client, cohort, hello_lab, assign
):
    assign(cohort, hello_lab)
    cohort.invites.create(expires_at=cohort.created_at)
    for model in ("cohort", "membership", "invite", "assignment"):
        url = reverse(f"admin:cohorts_{model}_changelist")
        response = admin_client.get(url, {"q": "Spring"})
        assert response.status_code == 200, model
        assert "Spring systems" in response.content.decode(), model
    listed = admin_client.get(reverse("admin:cohorts_cohort_changelist"), {"archived": "yes"})
    assert list(listed.context["cl"].result_list) == []
    cohort.archive()
    listed = admin_client.get(reverse("admin:cohorts_cohort_changelist"), {"archived": "yes"})
    assert list(listed.context["cl"].result_list) == [cohort]
    change = admin_client.get(reverse("admin:cohorts_cohort_change", args=[cohort.pk]))
    assert change.status_code == 200


def test_the_instructor_permission_is_grantable_in_the_admin(admin_client, make_user):
    user = make_user("noether")
    page = admin_client.get(reverse("admin:auth_user_change", args=[user.pk])).content.decode()
    assert "Can create cohorts (instructor)" in page


def test_a_refused_name_keeps_the_old_one(client, instructor, cohort):
    client.force_login(instructor)
    response = settings_post(client, cohort, "rename", name=" ")
    assert response.status_code == 400
    assert "Give the cohort a name" in response.content.decode()
    assert "Spring systems /" in response.content.decode()  # the breadcrumb
    cohort.refresh_from_db()
    assert cohort.name == "Spring systems"
