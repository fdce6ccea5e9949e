"""Every URL, asked by everyone: exactly the expected people get in, each sees the right
object, and no response carries what its reader must not see (another learner's work or
seed, hidden checks, another cohort, the reference solution or the checker's files)."""

import pytest
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from tests.security.conftest import marker_in
from tests.security.matrix import MATRIX, ROLES, Ctx, body, person, send

pytestmark = pytest.mark.django_db

# Django's own admin site has its own permission system and is not part of the matrix.
EXCLUDED_NAMESPACES = {"admin"}


def named_routes(patterns=None, namespace="") -> set[str]:
    """Every named URL the resolver knows, as "namespace:name"."""
    names = set()
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            inner = pattern.namespace or ""
            if inner in EXCLUDED_NAMESPACES:
                continue
            prefix = f"{namespace}{inner}:" if inner else namespace
            names |= named_routes(pattern.url_patterns, prefix)
        elif isinstance(pattern, URLPattern):
            assert pattern.name, f"an unnamed route cannot be in the matrix: {pattern}"
            names.add(namespace + pattern.name)
    return names


def test_every_named_route_is_in_the_matrix_and_nothing_else():
    routes = named_routes()
    in_matrix = {case.route for case in MATRIX}
    assert routes - in_matrix == set(), "add these routes to tests/security/matrix.py"
    assert in_matrix - routes == set(), "these matrix routes no longer exist"
    asked_with_get = {case.route for case in MATRIX if case.method == "get"}
    assert routes - asked_with_get == set(), "every route needs a GET case"


def check_outcome(case, ctx, response, expected: str) -> None:
    where = f"{case.id} for {ctx.side.key}'s objects as {ctx.role}"
    if expected == "L":
        assert response.status_code == 302, f"{where}: {response.status_code}"
        assert response["Location"].startswith("/login/"), f"{where}: {response['Location']}"
        return
    assert response.status_code == int(expected), f"{where}: {response.status_code}"
    text = body(response)
    if response.status_code in (200, 201):
        for marker in case.shows(ctx):
            assert marker_in(marker, text), f"{where}: {marker!r} is missing"
    allowed = set(case.reveals(ctx))
    for marker in ctx.world.forbidden(ctx.user):
        if marker not in allowed:
            assert not marker_in(marker, text), f"{where}: shows {marker!r}"


@pytest.mark.parametrize("case", MATRIX, ids=lambda case: case.id)
def test_each_person_gets_exactly_what_the_matrix_allows(world, case):
    for side in (world.a, world.b):
        for role in ROLES:
            ctx = Ctx(world, side, world.other(side), person(world, side, role), role)
            # Each request sees the same world: a POST's changes are rolled back.
            with transaction.atomic():
                response = send(Client(), case, ctx)
                check_outcome(case, ctx, response, case.expected[role])
                transaction.set_rollback(True)
