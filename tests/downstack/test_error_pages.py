"""The 400, 403, 404 and 500 pages: the site's own look, words for people, a way back."""

from django.core.exceptions import SuspiciousOperation
from django.test import RequestFactory
from django.urls import reverse
from django.views import defaults


def test_an_unknown_page_says_not_found_and_leads_back(client, learner):
    client.force_login(learner)
    response = client.get("/no-such-page/")
    page = response.content.decode()
    assert response.status_code == 404
    assert "Page not found" in page and "There is nothing at this address" in page
    # The address is not repeated: on a page refused as not found it can hold the id of
    # someone else's submission (the permission matrix checks that no refusal shows one).
    assert "no-such-page" not in page
    assert 'href="/"' in page and "Back to the labs" in page
    assert 'class="topbar"' in page  # the site's own layout, not Django's bare page


def test_a_refused_page_gives_the_reason_written_for_people(client, learner):
    client.force_login(learner)
    response = client.get(reverse("cohorts:new"))
    page = response.content.decode()
    assert response.status_code == 403
    assert "You cannot open this page" in page
    assert "Only site staff and instructors they appoint create cohorts." in page
    assert "Back to the labs" in page


def test_the_500_page_renders_without_any_request_context():
    # Django renders 500.html with no context at all, so that a broken context processor
    # or database cannot break the error page too.
    response = defaults.server_error(RequestFactory().get("/"))
    page = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong on our side" in page and "Back to the labs" in page
    assert "Log out" not in page


def test_a_bad_request_page_is_styled_too():
    request = RequestFactory().get("/")
    response = defaults.bad_request(request, SuspiciousOperation("bad host"))
    page = response.content.decode()
    assert response.status_code == 400
    assert "That request could not be read" in page and "bad host" not in page
