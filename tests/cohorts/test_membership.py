"""Joining with invites (expiring, revocable), adding and removing people, several cohorts."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from cohorts.models import Cohort, InviteInvalid, Membership
from cohorts.services import cohort_join

pytestmark = pytest.mark.django_db


@pytest.fixture
def invite(cohort, instructor):
    return cohort.invites.create(
        created_by=instructor, expires_at=timezone.now() + timedelta(days=7)
    )


def test_a_learner_joins_with_an_invite_link(client, invite, other_learner, cohort):
    client.force_login(other_learner)
    page = client.get(invite.get_absolute_url())
    assert cohort.name in page.content.decode()
    response = client.post(reverse("cohorts:join"), {"code": invite.code})
    assert response.status_code == 302
    membership = Membership.objects.get(cohort=cohort, user=other_learner)
    assert membership.role == Membership.Role.LEARNER


def test_an_expired_invite_is_refused_with_what_to_do(client, invite, other_learner, cohort):
    invite.expires_at = timezone.now() - timedelta(minutes=1)
    invite.save()
    client.force_login(other_learner)
    response = client.post(reverse("cohorts:join"), {"code": invite.code})
    assert response.status_code == 400
    assert "This invite expired on" in response.content.decode()
    assert not Membership.objects.filter(cohort=cohort, user=other_learner).exists()


def test_a_revoked_invite_no_longer_admits_anyone(invite, other_learner):
    invite.revoke()
    with pytest.raises(InviteInvalid, match="was revoked by your instructor"):
        cohort_join(code=invite.code, user=other_learner)


def test_an_unknown_code_is_refused(other_learner):
    with pytest.raises(InviteInvalid, match="not known"):
        cohort_join(code="nope", user=other_learner)


def test_joining_twice_keeps_one_membership_and_an_instructor_keeps_their_role(
    invite, instructor, other_learner
):
    cohort_join(code=invite.code, user=other_learner)
    cohort_join(code=invite.code, user=other_learner)
    assert Membership.objects.filter(user=other_learner).count() == 1
    assert cohort_join(code=invite.code, user=instructor).role == Membership.Role.INSTRUCTOR


def test_a_person_can_learn_in_several_cohorts(cohort, other_cohort, learner):
    other_cohort.add_member(learner, Membership.Role.LEARNER)
    assert set(Cohort.objects.joined_by(learner)) == {cohort, other_cohort}


def test_an_instructor_adds_and_removes_people_and_sees_the_roster(
    client, cohort, instructor, other_learner, learner
):
    client.force_login(instructor)
    url = reverse("cohorts:roster", args=[cohort.pk])
    response = client.post(url, {"action": "add", "add-username": "linus", "add-role": "learner"})
    assert response.status_code == 302
    roster = client.get(url).content.decode()
    assert "linus" in roster and "ada" in roster
    client.post(url, {"action": "remove", "user": learner.pk})
    assert list(cohort.learners()) == [other_learner]


def test_adding_an_unknown_username_says_so(client, cohort, instructor):
    client.force_login(instructor)
    url = reverse("cohorts:roster", args=[cohort.pk])
    response = client.post(url, {"action": "add", "add-username": "ghost", "add-role": "learner"})
    assert response.status_code == 400
    assert "There is no account named" in response.content.decode()


def test_an_instructor_creates_and_revokes_invites(client, cohort, instructor, other_learner):
    client.force_login(instructor)
    url = reverse("cohorts:roster", args=[cohort.pk])
    client.post(url, {"action": "invite", "invite-days": 2})
    invite = cohort.invites.get()
    assert timedelta(days=1) < invite.expires_at - timezone.now() <= timedelta(days=2)
    client.post(url, {"action": "revoke", "invite": invite.pk})
    invite.refresh_from_db()
    assert not invite.is_live()
    with pytest.raises(InviteInvalid):
        cohort_join(code=invite.code, user=other_learner)


def test_an_instructor_cannot_revoke_another_cohorts_invite(
    client, cohort, other_cohort, instructor, other_instructor
):
    theirs = other_cohort.invites.create(
        created_by=other_instructor, expires_at=timezone.now() + timedelta(days=1)
    )
    client.force_login(instructor)
    url = reverse("cohorts:roster", args=[cohort.pk])
    assert client.post(url, {"action": "revoke", "invite": theirs.pk}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.is_live()


def test_adding_an_unknown_username_gives_the_live_invite_link(client, cohort, instructor, invite):
    client.force_login(instructor)
    url = reverse("cohorts:roster", args=[cohort.pk])
    response = client.post(url, {"action": "add", "add-username": "ghost", "add-role": "learner"})
    text = response.content.decode()
    assert "There is no account named &#x27;ghost&#x27;. Send them this invite link" in text
    assert f"http://testserver{invite.get_absolute_url()}" in text
    assert "ask them to sign up" not in text
    assert cohort.invites.count() == 1


def test_without_a_live_invite_the_unknown_username_message_makes_one(client, cohort, instructor):
    client.force_login(instructor)
    url = reverse("cohorts:roster", args=[cohort.pk])
    response = client.post(url, {"action": "add", "add-username": "ghost", "add-role": "learner"})
    invite = cohort.invites.get()
    assert invite.is_live()
    assert timedelta(days=6) < invite.expires_at - timezone.now() <= timedelta(days=7)
    text = response.content.decode()
    assert f"http://testserver{invite.get_absolute_url()}" in text
    assert "a new one, valid for 7 days" in text


def test_with_sign_up_closed_the_unknown_username_message_says_who_makes_accounts(
    client, cohort, instructor, settings
):
    settings.SIGNUP = "closed"
    client.force_login(instructor)
    url = reverse("cohorts:roster", args=[cohort.pk])
    response = client.post(url, {"action": "add", "add-username": "ghost", "add-role": "learner"})
    assert "sign-up is closed on this site" in response.content.decode()
    assert not cohort.invites.exists()


def test_a_logged_in_person_sees_why_an_invite_link_does_not_work(client, invite, other_learner):
    invite.revoke()
    client.force_login(other_learner)
    text = client.get(invite.get_absolute_url()).content.decode()
    assert "This invite was revoked by your instructor" in text


def test_an_archived_cohorts_invite_admits_nobody(invite, cohort, other_learner):
    cohort.archive()
    with pytest.raises(InviteInvalid, match="was archived and takes no new members"):
        cohort_join(code=invite.code, user=other_learner)
    cohort.restore()
    assert cohort_join(code=invite.code, user=other_learner).cohort == cohort


def test_a_logged_out_visitor_posting_a_code_is_sent_to_log_in(client, invite):
    response = client.post(reverse("cohorts:join"), {"code": invite.code})
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert client.get(reverse("cohorts:join"))["Location"].startswith("/login/")


def test_in_an_archived_cohort_the_unknown_username_message_says_to_restore_it(
    client, cohort, instructor
):
    cohort.archive()
    client.force_login(instructor)
    url = reverse("cohorts:roster", args=[cohort.pk])
    response = client.post(url, {"action": "add", "add-username": "ghost", "add-role": "learner"})
    assert "this cohort is archived" in response.content.decode()
    assert not cohort.invites.exists()
