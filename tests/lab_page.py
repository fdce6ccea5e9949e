"""Following a refused submission from the lab page's forms to the page it redirects to."""

from catalog.models import Lab


def refused_page(client, response, lab: Lab) -> str:
    """The lab page a refused form post sends the learner to, as text.

    The refusal redirects with 303, so a refresh asks for the lab page again instead of
    posting the form; the reasons are shown once, and the next visit is clean.
    """
    assert response.status_code == 303, response.status_code
    assert response["Location"] == lab.get_absolute_url()
    shown = client.get(response["Location"])
    assert shown.status_code == 200
    fresh = client.get(response["Location"]).content.decode()
    assert 'class="error-box"' not in fresh and '<p class="error">' not in fresh
    return shown.content.decode()
