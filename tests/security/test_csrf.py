"""Cross-site request forgery: every POST of the site is refused without the CSRF token,
and every form on every page carries one.

The token API (/api/v1/) is exempt from CSRF by design: it authenticates only with an
`Authorization: Bearer` header, which a browser never adds to a cross-site request on
its own. Its exemption is safe only as long as a session cookie cannot stand in for the
token, which is tested here too.
"""

from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from django.db import transaction
from django.test import Client
from django.urls import resolve, reverse

from grading.models import Submission
from tests.security.matrix import MATRIX, ROLES, Ctx, person, send

pytestmark = pytest.mark.django_db

PAGE_POSTS = [case for case in MATRIX if case.method == "post" and not case.api]
PAGE_GETS = [case for case in MATRIX if case.method == "get" and not case.api]
POSTED_ROUTES = {case.route for case in MATRIX if case.method == "post"}


def first_admitted(case) -> str:
    """The first role the view itself answers (not the log-in redirect)."""
    return next(role for role in ROLES if case.expected[role] != "L")


def ctx_for(world, case, role: str | None = None) -> Ctx:
    role = role or first_admitted(case)
    return Ctx(world, world.a, world.b, person(world, world.a, role), role)


@pytest.mark.parametrize("case", PAGE_POSTS, ids=lambda case: case.id)
def test_every_post_without_the_csrf_token_is_refused(world, case):
    ctx = ctx_for(world, case)
    with transaction.atomic():
        client = Client(enforce_csrf_checks=True)
        assert send(client, case, ctx).status_code == 403
        transaction.set_rollback(True)
    # The same request with the token gets the matrix's answer: the 403 was the token's.
    with transaction.atomic():
        client = Client(enforce_csrf_checks=True)
        if ctx.user is not None:
            client.force_login(ctx.user)
        client.get(reverse("login"))  # sets the CSRF cookie
        token = client.cookies["csrftoken"].value
        url = reverse(case.route, args=case.args(ctx))
        response = client.post(url, {**case.data(ctx), "csrfmiddlewaretoken": token})
        assert response.status_code == int(case.expected[ctx.role].replace("L", "302"))
        transaction.set_rollback(True)


def test_a_session_cookie_alone_cannot_post_to_the_api(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.a.learner)
    (case,) = [c for c in MATRIX if c.route == "api:submission_create" and c.method == "post"]
    ctx = ctx_for(world, case, "learner")
    url = reverse(case.route, args=case.args(ctx))
    client.get(reverse("login"))
    token = client.cookies["csrftoken"].value
    before = Submission.objects.count()
    # Neither the cookie alone nor the cookie with a CSRF token is an API credential.
    assert client.post(url, case.data(ctx)).status_code == 401
    assert client.post(url, {**case.data(ctx), "csrfmiddlewaretoken": token}).status_code == 401
    assert Submission.objects.count() == before
    # The token is the credential, and with it no CSRF token is needed.
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {world.keys[world.a.learner.pk]}"}
    assert Client(enforce_csrf_checks=True).post(url, case.data(ctx), **bearer).status_code == 201


class Forms(HTMLParser):
    """The POST forms of a page: their action and whether they hold a CSRF token."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self._open: dict | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and (attrs.get("method") or "get").lower() == "post":
            self._open = {"action": attrs.get("action") or "", "token": False}
            self.forms.append(self._open)
        elif tag == "input" and self._open is not None:
            if attrs.get("name") == "csrfmiddlewaretoken" and attrs.get("value"):
                self._open["token"] = True

    def handle_endtag(self, tag):
        if tag == "form":
            self._open = None


def test_every_form_on_every_page_carries_the_token_and_posts_to_a_tested_route(world):
    pages_with_forms = 0
    for case in PAGE_GETS:
        for role in ROLES:
            if case.expected[role] != "200":
                continue
            ctx = ctx_for(world, case, role)
            client = Client(enforce_csrf_checks=True)
            response = send(client, case, ctx)
            if not response.get("Content-Type", "").startswith("text/html"):
                continue
            parser = Forms()
            parser.feed(response.content.decode())
            pages_with_forms += bool(parser.forms)
            for form in parser.forms:
                where = f"a form on {case.id} as {role} posting to {form['action'] or 'itself'}"
                assert form["token"], f"{where} has no CSRF token"
                path = urlsplit(form["action"]).path or response.wsgi_request.path
                match = resolve(path)
                assert match.view_name in POSTED_ROUTES, f"{where}: no POST case in the matrix"
    assert pages_with_forms >= 10
