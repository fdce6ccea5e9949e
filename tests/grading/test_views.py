"""Web pages: log in, the lab page, uploading, following a submission, who may see what."""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from grading.intake import submission_create
from grading.models import Submission, TestResult
from tests.lab_page import refused_page

LAB = Path(__file__).resolve().parents[2] / "labs" / "hello-sandbox"
pytestmark = pytest.mark.django_db


def solution_bytes() -> bytes:
    return (LAB / "solution" / "logparse.py").read_bytes()


@pytest.fixture
def graded(hello_lab, learner):
    """A graded submission with a visible and a hidden check, stored without Docker."""
    submission = submission_create(
        user=learner, lab=hello_lab, files={"logparse.py": b"print(1)\n"}
    )
    Submission.objects.filter(pk=submission.pk).update(status="graded", score=2, max_score=3)
    TestResult.objects.create(
        submission=submission,
        position=0,
        name="visible check",
        score=2,
        max_score=2,
        status="passed",
        output="p50 matched",
        visibility="visible",
    )
    TestResult.objects.create(
        submission=submission,
        position=1,
        name="secret corner case",
        score=0,
        max_score=1,
        status="failed",
        output="expected 42, got 41",
        visibility="hidden",
    )
    return Submission.objects.get(pk=submission.pk)


def test_pages_need_a_login(client, hello_lab):
    for url in (reverse("catalog:lab_list"), hello_lab.get_absolute_url()):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_login_and_logout(client, learner):
    response = client.post(reverse("login"), {"username": "ada", "password": "ada-password"})
    assert response.status_code == 302
    assert client.get(reverse("catalog:lab_list")).status_code == 200
    client.post(reverse("logout"))
    assert client.get(reverse("catalog:lab_list")).status_code == 302


def test_wrong_password_says_so(client, learner):
    response = client.post(reverse("login"), {"username": "ada", "password": "nope"})
    assert b"did not match" in response.content


def test_lab_page_shows_rendered_instructions_and_an_upload_field(client, learner, hello_lab):
    client.force_login(learner)
    page = client.get(hello_lab.get_absolute_url()).content.decode()
    assert '<h1 id="the-access-log-summary-that-lies">The access-log summary that lies' in page
    assert 'type="file" name="logparse.py"' in page


def test_upload_creates_a_queued_submission_and_redirects_to_it(client, learner, hello_lab):
    client.force_login(learner)
    upload = SimpleUploadedFile("whatever-name.py", solution_bytes())
    response = client.post(
        reverse("catalog:submission_create", args=[hello_lab.slug]), {"logparse.py": upload}
    )
    submission = Submission.objects.get()
    assert response.status_code == 302 and response["Location"] == submission.get_absolute_url()
    assert submission.status == "queued" and submission.user == learner
    assert submission.files.get().content.read() == solution_bytes()


def test_empty_upload_is_rejected_on_the_lab_page(client, learner, hello_lab):
    client.force_login(learner)
    response = client.post(
        reverse("catalog:submission_create", args=[hello_lab.slug]),
        {"logparse.py": SimpleUploadedFile("logparse.py", b"")},
    )
    assert "The submitted file is empty" in refused_page(client, response, hello_lab)
    assert not Submission.objects.exists()


def test_missing_file_is_rejected_on_the_lab_page(client, learner, hello_lab):
    client.force_login(learner)
    response = client.post(reverse("catalog:submission_create", args=[hello_lab.slug]), {})
    assert "logparse.py is empty." in refused_page(client, response, hello_lab)
    assert not Submission.objects.exists()


def test_pending_submission_page_refreshes_itself_without_javascript(client, learner, hello_lab):
    client.force_login(learner)
    submission = submission_create(user=learner, lab=hello_lab, files={"logparse.py": b"x=1\n"})
    page = client.get(submission.get_absolute_url()).content.decode()
    assert '<meta http-equiv="refresh" content="2">' in page  # inside <noscript>
    assert "Queued" in page


def test_graded_page_stops_refreshing_and_hides_hidden_checks(client, learner, graded):
    client.force_login(learner)
    page = client.get(graded.get_absolute_url()).content.decode()
    assert 'http-equiv="refresh"' not in page
    assert "2 / 3" in page
    assert "visible check" in page and "p50 matched" in page
    assert "secret corner case" not in page and "expected 42" not in page
    assert "Hidden checks: 0 passed, 1 failed." in page


def test_staff_sees_hidden_checks(client, staff, graded):
    client.force_login(staff)
    page = client.get(graded.get_absolute_url()).content.decode()
    assert "secret corner case" in page and "expected 42, got 41" in page


def test_another_learner_cannot_see_a_submission(client, other_learner, graded):
    client.force_login(other_learner)
    assert client.get(graded.get_absolute_url()).status_code == 404


def test_anonymous_cannot_see_a_submission(client, graded):
    response = client.get(graded.get_absolute_url())
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_lab_page_lists_only_my_attempts(client, learner, other_learner, hello_lab, graded):
    client.force_login(other_learner)
    page = client.get(hello_lab.get_absolute_url()).content.decode()
    assert str(graded.pk) not in page and "None yet." in page


def test_learner_output_is_escaped_in_feedback(client, learner, graded):
    TestResult.objects.filter(name="visible check").update(output="<script>alert(1)</script>")
    Submission.objects.filter(pk=graded.pk).update(feedback="<img src=x onerror=alert(1)> **bold**")
    client.force_login(learner)
    page = client.get(graded.get_absolute_url()).content.decode()
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page
    assert "<img src=x" not in page and "<strong>bold</strong>" in page


def test_staff_sees_an_alert_when_submissions_wait_on_infrastructure(
    client, staff, learner, hello_lab
):
    submission = submission_create(user=learner, lab=hello_lab, files={"logparse.py": b"x=1\n"})
    Submission.objects.filter(pk=submission.pk).update(
        infra_failures=2, last_infra_error="Docker is not running"
    )
    client.force_login(staff)
    page = client.get(reverse("catalog:lab_list")).content.decode()
    assert "1 submission(s) are waiting" in page and "Docker is not running" in page
    client.force_login(learner)
    assert "are waiting" not in client.get(reverse("catalog:lab_list")).content.decode()


def test_starter_zip_holds_the_starter_files_only(client, learner, hello_lab):
    import io
    import zipfile

    client.force_login(learner)
    response = client.get(reverse("catalog:lab_starter", args=[hello_lab.slug]))
    assert response["Content-Type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    assert sorted(names) == ["hello-sandbox/logparse.py", "hello-sandbox/sample.log"]


def test_seeded_lab_page_shows_my_seed_only(client, learner, other_learner, scratch_lab):
    lab = scratch_lab("seeded", "print(1)\n", extra_toml="\n[grader]\nseeded = true\n")
    client.force_login(learner)
    page = client.get(lab.get_absolute_url()).content.decode()
    assert f'<code class="seed">{lab.seed_for(learner)}</code>' in page
    assert str(lab.seed_for(other_learner)) not in page


def test_catalog_shows_my_state_per_lab(client, learner, other_learner, hello_lab, scratch_lab):
    other = scratch_lab("other-lab", "print(1)\n")
    client.force_login(learner)
    assert "Not started" in client.get(reverse("catalog:lab_list")).content.decode()
    done = submission_create(user=learner, lab=hello_lab, files={"logparse.py": b"x=1\n"})
    Submission.objects.filter(pk=done.pk).update(status="graded", score=7, max_score=10)
    page = client.get(reverse("catalog:lab_list")).content.decode()
    assert "Best 7 / 10" in page
    Submission.objects.filter(pk=done.pk).update(score=10)
    page = client.get(reverse("catalog:lab_list")).content.decode()
    assert "Passed" in page
    client.force_login(other_learner)
    page = client.get(reverse("catalog:lab_list")).content.decode()
    assert "Passed" not in page and page.count("Not started") == 2
    assert other.title in page


def test_catalog_filters_by_skill_and_difficulty(client, learner, hello_lab, scratch_lab):
    scratch_lab("other-lab", "print(1)\n")  # skills ["testing"], intro
    client.force_login(learner)
    page = client.get(reverse("catalog:lab_list"), {"skill": "percentiles"}).content.decode()
    assert hello_lab.title in page and "Lab other-lab" not in page
    page = client.get(reverse("catalog:lab_list"), {"difficulty": "advanced"}).content.decode()
    assert "No lab matches these filters." in page


def submit_url(lab):
    return reverse("catalog:submission_create", args=[lab.slug])


def test_lab_page_editor_starts_with_the_starter_then_my_latest_files(client, learner, hello_lab):
    client.force_login(learner)
    page = client.get(hello_lab.get_absolute_url()).content.decode()
    assert 'name="editor:logparse.py"' in page and "def parse_line(line):" in page
    submission_create(user=learner, lab=hello_lab, files={"logparse.py": b"# my version\n"})
    page = client.get(hello_lab.get_absolute_url()).content.decode()
    assert "# my version" in page and "def parse_line(line):" not in page


def test_editor_submission_is_stored_with_unix_line_endings(client, learner, hello_lab):
    client.force_login(learner)
    response = client.post(
        submit_url(hello_lab),
        {"source": "editor", "editor:logparse.py": "print(1)\r\nprint(2)\r\n"},
    )
    assert response.status_code == 302
    assert Submission.objects.get().files.get().content.read() == b"print(1)\nprint(2)\n"


def test_zip_upload_through_the_page(client, learner, hello_lab):
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello-sandbox/logparse.py", solution_bytes())
    client.force_login(learner)
    response = client.post(
        submit_url(hello_lab),
        {"source": "upload", "archive": SimpleUploadedFile("mine.zip", buffer.getvalue())},
    )
    assert response.status_code == 302
    assert Submission.objects.get().files.get().content.read() == solution_bytes()


def test_rejected_editor_submission_keeps_what_i_typed(client, learner, hello_lab):
    client.force_login(learner)
    typed = "def parse_line(line):\n    return 'my unfinished idea'\n" + "#" * 300_000
    response = client.post(submit_url(hello_lab), {"source": "editor", "editor:logparse.py": typed})
    page = refused_page(client, response, hello_lab)
    assert "logparse.py is 300," in page and "at most 262,144 bytes" in page
    assert "my unfinished idea" in page and "#" * 300_000 in page
    assert not Submission.objects.exists()
    # Once shown, the editor starts again from the starter.
    again = client.get(hello_lab.get_absolute_url()).content.decode()
    assert "my unfinished idea" not in again and "def parse_line(line):" in again


def test_bad_zip_through_the_page_names_the_problem(client, learner, hello_lab):
    client.force_login(learner)
    response = client.post(
        submit_url(hello_lab),
        {"source": "upload", "archive": SimpleUploadedFile("x.zip", b"not a zip at all")},
    )
    assert "The upload is not a valid zip file." in refused_page(client, response, hello_lab)
    assert not Submission.objects.exists()


def test_oversized_request_is_refused_before_reading_it(client, learner, hello_lab):
    client.force_login(learner)
    response = client.post(
        submit_url(hello_lab),
        {"source": "upload", "logparse.py": SimpleUploadedFile("logparse.py", b"x" * 1_200_000)},
    )
    page = refused_page(client, response, hello_lab)
    assert "The upload is 1,200," in page and "this lab takes at most 262,144 bytes" in page
    assert "def parse_line(line):" in page  # the editor starts from the latest texts
    assert not Submission.objects.exists()


def test_refreshing_the_page_after_a_refusal_does_not_submit_again(client, learner, hello_lab):
    client.force_login(learner)
    submission_create(user=learner, lab=hello_lab, files={"logparse.py": b"x=1\n"})
    response = client.post(submit_url(hello_lab), {"source": "editor", "editor:logparse.py": ""})
    assert "logparse.py is empty." in refused_page(client, response, hello_lab)
    # A refresh repeats the request that showed the page: a GET of the lab page.
    followed = client.post(
        submit_url(hello_lab), {"source": "editor", "editor:logparse.py": ""}, follow=True
    )
    assert followed.redirect_chain == [(hello_lab.get_absolute_url(), 303)]
    assert followed.request["REQUEST_METHOD"] == "GET"
    for _ in range(2):
        client.get(followed.request["PATH_INFO"])
    assert Submission.objects.count() == 1


def test_a_refusal_shows_only_on_its_own_lab(client, learner, hello_lab, scratch_lab):
    other = scratch_lab("other-lab", "print(1)\n")
    client.force_login(learner)
    too_long = "# refused here\n" + "#" * 300_000
    response = client.post(
        submit_url(hello_lab), {"source": "editor", "editor:logparse.py": too_long}
    )
    assert response.status_code == 303
    page = client.get(other.get_absolute_url()).content.decode()
    assert "# refused here" not in page and 'class="error-box"' not in page
    assert "# refused here" in refused_page(client, response, hello_lab)


def test_a_refusal_keeps_one_small_entry_per_lab_and_no_uploaded_bytes(client, learner, hello_lab):
    client.force_login(learner)
    before = set(client.session.keys())
    junk = b"J" * 200_000  # under the request-size cap, refused as a zip

    def refuse():
        return client.post(
            submit_url(hello_lab),
            {"source": "upload", "archive": SimpleUploadedFile("x.zip", junk)},
        )

    refuse()
    kept = client.session
    assert len(set(kept.keys()) - before) == 1
    assert len(kept.encode(dict(kept.items()))) < 10_000
    response = refuse()
    assert set(client.session.keys()) == set(kept.keys())
    assert "not a valid zip file" in refused_page(client, response, hello_lab)
    assert set(client.session.keys()) == before


def test_attempt_limit_says_when_the_next_attempt_opens(client, learner, hello_lab, settings):
    from datetime import timedelta

    from django.utils import timezone

    settings.TIME_ZONE = "UTC"
    hello_lab.attempts_per_hour = 2
    hello_lab.save()
    client.force_login(learner)
    first = submission_create(user=learner, lab=hello_lab, files={"logparse.py": b"x=1\n"})
    earlier = timezone.now() - timedelta(minutes=50)
    Submission.objects.filter(pk=first.pk).update(created_at=earlier)
    broken = submission_create(user=learner, lab=hello_lab, files={"logparse.py": b"x=2\n"})
    Submission.objects.filter(pk=broken.pk).update(status="error")  # a grader error: free
    submission_create(user=learner, lab=hello_lab, files={"logparse.py": b"x=3\n"})
    response = client.post(
        submit_url(hello_lab), {"source": "editor", "editor:logparse.py": "x=4\n"}
    )
    page = refused_page(client, response, hello_lab)
    opens = timezone.localtime(earlier + timedelta(hours=1))
    assert f"Your next attempt is available at {opens:%H:%M} (UTC)" in page
    assert "x=4" in page  # the editor keeps the text
    assert Submission.objects.count() == 3


def graded_attempt(user, lab, text, score):
    submission = submission_create(user=user, lab=lab, files={"logparse.py": text})
    Submission.objects.filter(pk=submission.pk).update(status="graded", score=score, max_score=10)
    return submission


def test_history_charts_scores_and_diffs_two_attempts(client, learner, hello_lab):
    first = graded_attempt(learner, hello_lab, b"a = 1\nb = 2\n", 3)
    second = graded_attempt(learner, hello_lab, b"a = 1\nb = 3\n", 10)
    client.force_login(learner)
    url = reverse("grading:history", args=[hello_lab.slug])
    page = client.get(url).content.decode()
    assert page.count('class="dot"') == 2 and "<polyline" in page
    assert "Difference from attempt #1 to #2" in page
    assert diff_row("del", "2", "", "b = 2") in page  # numbered in the older file only
    assert diff_row("add", "", "2", "b = 3") in page
    assert diff_row("context", "1", "1", "a = 1") in page
    page = client.get(url, {"a": str(second.pk), "b": str(first.pk)}).content.decode()
    assert "Difference from attempt #2 to #1" in page
    assert diff_row("add", "", "2", "b = 2") in page


def diff_row(kind: str, old: str, new: str, text: str) -> str:
    """A line of the history page's one-column diff, as the page writes it."""
    said = {"del": ("-", "removed"), "add": ("+", "added")}.get(kind)
    mark = (
        f'<span aria-hidden="true">{said[0]}</span><span class="sr">{said[1]}</span>'
        if said
        else ""
    )
    return (
        f'<tr class="d-{kind}"><td class="ln">{old}</td><td class="ln">{new}</td>'
        f'<td class="mark">{mark}</td><td class="code">{text}</td></tr>'
    )


def test_history_ignores_another_learners_attempt_ids(client, learner, other_learner, hello_lab):
    mine = graded_attempt(learner, hello_lab, b"mine = 1\n", 3)
    theirs = graded_attempt(other_learner, hello_lab, b"secret = 42\n", 10)
    client.force_login(learner)
    page = client.get(
        reverse("grading:history", args=[hello_lab.slug]), {"a": str(mine.pk), "b": str(theirs.pk)}
    ).content.decode()
    assert "secret" not in page


def test_a_submitted_file_is_shown_highlighted_to_its_owner_only(
    client, learner, other_learner, hello_lab
):
    submission = graded_attempt(learner, hello_lab, b"import os  # <b>\n", 3)
    url = reverse("grading:submission_file", args=[submission.pk, "logparse.py"])
    client.force_login(learner)
    page = client.get(url).content.decode()
    assert '<span class="kn">import</span>' in page and "&lt;b&gt;" in page
    client.force_login(other_learner)
    assert client.get(url).status_code == 404


def test_pending_page_polls_with_htmx_and_falls_back_to_a_refresh(client, learner, hello_lab):
    client.force_login(learner)
    submission = submission_create(user=learner, lab=hello_lab, files={"logparse.py": b"x=1\n"})
    page = client.get(submission.get_absolute_url()).content.decode()
    assert 'hx-trigger="every 2s"' in page
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in page
    assert "position 1" in page


def test_a_result_not_passed_says_so_and_offers_edit_and_resubmit(client, learner, graded):
    client.force_login(learner)
    page = client.get(graded.get_absolute_url()).content.decode()
    assert "<strong>Not passed yet</strong>: 2 of 3." in page
    edit = f'href="{graded.lab.get_absolute_url()}#editor">Edit and resubmit</a>'
    assert edit in page
    # The breadcrumb ends with this page, not a stray separator.
    assert "History</a> / <span>Submission of " in page and "History</a> /</p>" not in page
    assert "opens with your latest submission" not in page  # this one is the latest


def test_a_passed_result_says_so_and_suggests_the_next_lab(client, learner, hello_lab, scratch_lab):
    other = scratch_lab("queue-depth", "print(1)\n")
    older = graded_attempt(learner, hello_lab, b"a = 1\n", 3)
    passed = graded_attempt(learner, hello_lab, b"a = 2\n", 10)
    client.force_login(learner)
    page = client.get(passed.get_absolute_url()).content.decode()
    assert "<strong>Passed</strong>: full marks on every check." in page
    assert f'Next: <a class="button" href="{other.get_absolute_url()}">{other.title}</a>' in page
    # An older attempt says the editor holds the latest files, not its own.
    page = client.get(older.get_absolute_url()).content.decode()
    assert "The editor opens with your latest submission's files, not this one's." in page


def test_someone_elses_result_has_no_resubmit_link(client, staff, graded):
    client.force_login(staff)
    page = client.get(graded.get_absolute_url()).content.decode()
    assert "Not passed yet" in page and "Edit and resubmit" not in page
