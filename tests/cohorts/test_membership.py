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
    assert "expired or was revoked" in response.content.decode()
    assert not Membership.objects.filter(cohort=cohort, user=other_learner).exists()


def test_a_revoked_invite_no_longer_admits_anyone(invite, other_learner):
    invite.revoke()
    with pytest.raises(InviteInvalid, match="Ask your instructor"):
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
