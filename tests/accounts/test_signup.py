"""Sign-up at /signup/: open to all, by invite only (the default) or closed, as SIGNUP
says; an invite link takes a new person through sign-up straight into its cohort."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone
from pages import signup as signup_page

from cohorts.models import Cohort, InviteInvalid, Membership

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_counts")]

PASSWORD = "a long unusual passphrase"
ADDRESS_LIMIT = 20  # failed sign-ups per address per 15 minutes, written out on purpose


@pytest.fixture
def cohort(make_user):
    cohort = Cohort.objects.create(name="Spring systems")
    cohort.add_member(make_user("turing"), Membership.Role.INSTRUCTOR)
    return cohort


@pytest.fixture
def invite(cohort):
    return cohort.invites.create(expires_at=timezone.now() + timedelta(days=7))


def sign_up(client, *, username="newton", email=None, invite="", password=PASSWORD, **extra):
    return client.post(
        reverse("signup"),
        {
            "username": username,
            "email": email or f"{username}@example.org",
            "password1": password,
            "password2": extra.pop("password2", password),
            "invite": invite,
        },
        **extra,
    )


def accounts(username="newton"):
    return get_user_model().objects.filter(username=username)


def test_an_invite_link_takes_a_logged_out_person_through_sign_up_into_the_cohort(
    client, invite, cohort
):
    page = client.get(invite.get_absolute_url())
    assert page.status_code == 200
    text = page.content.decode()
    assert "Join Spring systems" in text
    signup_url = f"{reverse('signup')}?invite={invite.code}"
    assert signup_url in text

    form = client.get(signup_url).content.decode()
    assert "Sign up and join Spring systems" in form
    assert f'name="invite" value="{invite.code}"' in form  # carried, not typed again

    response = sign_up(client, invite=invite.code)
    assert response.status_code == 302
    assert response["Location"] == reverse("cohorts:my_progress", args=[cohort.pk])
    user = accounts().get()
    assert user.email == "newton@example.org"
    assert Membership.objects.get(cohort=cohort, user=user).role == Membership.Role.LEARNER
    landing = client.get(response["Location"])  # logged in, on the cohort's page
    assert landing.status_code == 200
    assert "you joined Spring systems" in landing.content.decode()


def test_the_invitation_page_also_offers_log_in_that_comes_back_to_the_invite(client, invite):
    text = client.get(invite.get_absolute_url()).content.decode()
    assert f"{reverse('login')}?next={invite.get_absolute_url()}" in text


def test_by_default_sign_up_needs_an_invite_and_makes_no_account_without_one(client):
    response = sign_up(client)
    assert response.status_code == 400
    assert "Sign-up here needs an invite" in response.content.decode()
    assert not accounts().exists()


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        ("unknown", "This invite code is not known"),
        ("expired", "This invite expired on"),
        ("revoked", "This invite was revoked by your instructor"),
        ("archived", "Spring systems was archived and takes no new members"),
    ],
)
def test_a_bad_invite_says_what_is_wrong_and_makes_no_account(
    client, invite, cohort, spoil, message
):
    code = invite.code
    if spoil == "unknown":
        code = "no-such-code"
    elif spoil == "expired":
        invite.expires_at = timezone.now() - timedelta(hours=1)
        invite.save()
    elif spoil == "revoked":
        invite.revoke()
    else:
        cohort.archive()
    # The link itself says so, logged out...
    link = client.get(reverse("cohorts:join_code", args=[code]))
    assert message in link.content.decode()
    assert reverse("signup") + "?invite" not in link.content.decode()
    # ...and so does a sign-up that carries it, which makes no account.
    assert message in client.get(f"{reverse('signup')}?invite={code}").content.decode()
    response = sign_up(client, invite=code)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not accounts().exists()
    assert not Membership.objects.filter(user__username="newton").exists()


def test_an_invite_that_lapses_while_the_form_is_open_leaves_no_account(
    client, invite, monkeypatch
):
    def lapsed(**kwargs):
        raise InviteInvalid("This invite expired on 1 Jan 2027 at 09:00 (UTC).")

    monkeypatch.setattr(signup_page, "cohort_join", lapsed)
    response = sign_up(client, invite=invite.code)
    assert response.status_code == 400
    assert "This invite expired on 1 Jan 2027" in response.content.decode()
    assert not accounts().exists()


def test_open_sign_up_needs_no_invite(client, settings):
    settings.SIGNUP = "open"
    assert "Invite code (optional)" in client.get(reverse("signup")).content.decode()
    response = sign_up(client)
    assert response.status_code == 302
    assert response["Location"] == reverse("catalog:lab_list")
    assert accounts().exists()
    assert client.session["_auth_user_id"] == str(accounts().get().pk)


def test_open_sign_up_with_an_invite_still_joins_and_a_bad_one_is_still_refused(
    client, settings, invite, cohort
):
    settings.SIGNUP = "open"
    assert sign_up(client, invite="no-such-code").status_code == 400
    assert not accounts().exists()
    assert sign_up(client, invite=invite.code).status_code == 302
    assert cohort.learners().filter(username="newton").exists()


def test_closed_sign_up_refuses_everyone_even_with_an_invite(client, settings, invite):
    settings.SIGNUP = "closed"
    page = client.get(reverse("signup"))
    assert page.status_code == 403
    assert "Sign-up is closed" in page.content.decode()
    assert sign_up(client, invite=invite.code).status_code == 403
    assert not accounts().exists()
    # The invite link then offers only log-in.
    link = client.get(invite.get_absolute_url()).content.decode()
    assert "Log in to join" in link and reverse("signup") not in link


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"password2": "something else entirely"}, "The two password fields didn’t match"),
        ({"password": "password123"}, "This password is too common"),
        ({"password": "short"}, "This password is too short"),
        ({"password": "83749201746351"}, "This password is entirely numeric"),
        ({"username": "newtonian", "password": "newtonian1"}, "too similar to the username"),
        ({"username": "bad name!"}, "Enter a valid username"),
    ],
)
def test_django_checks_the_username_and_password(client, invite, fields, message):
    response = sign_up(client, invite=invite.code, **fields)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not accounts(fields.get("username", "newton")).exists()


def test_a_taken_username_or_email_is_refused(client, invite, make_user):
    ada = make_user("ada")
    ada.email = "ada@example.org"
    ada.save()
    taken_name = sign_up(client, username="ADA", email="other@example.org", invite=invite.code)
    assert "A user with that username already exists" in taken_name.content.decode()
    taken_email = sign_up(client, email="Ada@Example.org", invite=invite.code)
    assert "An account already uses this email address" in taken_email.content.decode()
    assert get_user_model().objects.count() == 2  # ada and the cohort's instructor


def test_a_logged_in_person_with_an_invite_is_sent_to_join_with_their_account(
    client, invite, make_user
):
    client.force_login(make_user("ada"))
    response = client.get(f"{reverse('signup')}?invite={invite.code}")
    assert response["Location"] == invite.get_absolute_url()


def test_failed_sign_ups_are_throttled_per_address_like_log_ins(client, invite):
    for index in range(ADDRESS_LIMIT):
        response = sign_up(client, username=f"guess{index}", invite=f"guess-{index}")
        assert response.status_code == 400
    # Locked: even a good invite is refused and nothing is checked or created.
    response = sign_up(client, invite=invite.code)
    assert response.status_code == 429
    assert "Too many failed sign-ups from your network. Wait 15 minutes" in (
        response.content.decode()
    )
    assert not accounts().exists()
    # Another address is not affected.
    assert sign_up(client, invite=invite.code, REMOTE_ADDR="198.51.100.2").status_code == 302


def test_nineteen_failed_sign_ups_do_not_lock(client, invite):
    for index in range(ADDRESS_LIMIT - 1):
        sign_up(client, username=f"guess{index}", invite=f"guess-{index}")
    assert sign_up(client, invite=invite.code).status_code == 302


def test_the_login_page_links_to_sign_up_and_password_reset(client, settings):
    text = client.get(reverse("login")).content.decode()
    assert f'href="{reverse("signup")}"' in text
    assert f'href="{reverse("password_reset")}"' in text
    settings.SIGNUP = "closed"
    text = client.get(reverse("login")).content.decode()
    assert f'href="{reverse("signup")}"' not in text
    assert f'href="{reverse("password_reset")}"' in text
