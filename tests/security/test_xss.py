"""Cross-site scripting: script, event handlers, javascript: links and raw HTML put into
every text a lab author, a learner, a checker or an instructor controls come out as
visible text on every page that shows them, and the gradebook CSV cannot smuggle a
formula into a spreadsheet."""

import csv
import io
import json
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import ApiToken
from catalog.models import Lab
from catalog.sync import labs_sync
from cohorts.models import Assignment, Cohort, Membership, Regrade
from grading.models import Submission, SubmissionFile, TestResult
from grading.progress import labprogress_refresh
from tests.conftest import write_lab
from tests.grading.test_uploads import make_zip
from tests.lab_page import refused_page

pytestmark = pytest.mark.django_db

P = {
    "title": "<script>alert('title')</script>",
    "summary": "<img src=x onerror=\"alert('summary')\">",
    "skill": "\"><script>alert('skill')</script>",
    "readme": "<script>alert('readme')</script>",
    "readme_img": "<img src=x onerror=alert('readme-img')>",
    "cohort": "<script>alert('cohort')</script>",
    "username": "\"><img src=x onerror=alert('user')>",
    "check": "<img src=x onerror=alert('check')>",
    "output": "</pre><script>alert('output')</script>",
    "hidden": "<svg onload=alert('hidden')>",
    "feedback": "<script>alert('feedback')</script>",
    "file": "</code><script>alert('file')</script>",
    "log": "<script>alert('grader-log')</script>",
    "infra": "<script>alert('infra')</script>",
    "token": "<script>alert('token')</script>",
    "zip_name": "<img src=x onerror=alert('zip')>.py",
}
README = f"""# Lab

{P["readme"]}

{P["readme_img"]}

[a link](javascript:alert('link')) and [another](JaVaScRiPt:alert('link2'))
![a picture](javascript:alert('picture'))

<a href="javascript:alert('raw')">raw link</a> <iframe src="https://example.com"></iframe>
"""
FEEDBACK = f"Summary: {P['feedback']} [see](javascript:alert('feedback-link'))"


class Page(HTMLParser):
    """What a browser would run (tags, attributes, inline script) and what it would show."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.text: list[str] = []
        self._in_script = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag in ("iframe", "object", "embed"):
            self.problems.append(f"<{tag}>")
        if tag == "script":
            self._in_script = not dict(attrs).get("src")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...>")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith(
                ("javascript:", "vbscript:", "data:text/html")
            ):
                self.problems.append(f"<{tag} {name}={value}>")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.problems.append(f"inline script {data.strip()[:60]!r}")
        self.text.append(data)

    def shows(self, text: str) -> bool:
        return text in "".join(self.text)


@pytest.fixture
def hostile(db, labs_dir, make_user, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    path = write_lab(labs_dir, "xss-lab", "print(1)\n", extra_toml="\n[attempts]\nper_hour = 50\n")
    toml = (path / "lab.toml").read_text()
    # A JSON string is a TOML basic string.
    toml = toml.replace('title = "Lab xss-lab"', f"title = {json.dumps(P['title'])}")
    toml = toml.replace('summary = "A lab for tests."', f"summary = {json.dumps(P['summary'])}")
    toml = toml.replace('skills = ["testing"]', f"skills = [{json.dumps(P['skill'])}]")
    (path / "lab.toml").write_text(toml)
    (path / "README.md").write_text(README)
    report = labs_sync(root=labs_dir)
    assert not report.errors, report.errors
    lab = Lab.objects.get(slug="xss-lab")

    learner = make_user(P["username"])
    teacher = make_user("teacher")
    admin = make_user("admin", staff=True)
    cohort = Cohort.objects.create(name=P["cohort"])
    cohort.add_member(learner, Membership.Role.LEARNER)
    cohort.add_member(teacher, Membership.Role.INSTRUCTOR)
    now = timezone.now()
    Assignment.objects.create(
        cohort=cohort, lab=lab, opens_at=now - timedelta(days=1), due_at=now + timedelta(days=1)
    )
    submission = Submission.objects.create(
        user=learner,
        lab=lab,
        status=Submission.Status.GRADED,
        score=1,
        max_score=3,
        feedback=FEEDBACK,
        grader_log=P["log"],
        finished_at=now,
    )
    content = f"# {P['file']}\n".encode()
    SubmissionFile.objects.create(
        submission=submission,
        name="main.py",
        size=len(content),
        content=ContentFile(content, "main.py"),
    )
    for position, (name, output, visibility) in enumerate(
        [(P["check"], P["output"], "visible"), (P["hidden"], P["output"], "hidden")]
    ):
        TestResult.objects.create(
            submission=submission,
            position=position,
            name=name,
            output=output,
            score=0,
            max_score=1,
            status="failed",
            visibility=visibility,
        )
    labprogress_refresh(user_id=learner.pk, lab_id=lab.pk)
    # A submission waiting on broken infrastructure: staff see its error on every page.
    Submission.objects.create(user=learner, lab=lab, infra_failures=1, last_infra_error=P["infra"])
    regrade = Regrade.objects.create(cohort=cohort, lab=lab, requested_by=teacher)
    regrade.runs.create(submission=submission)
    invite = cohort.invites.create(created_by=teacher, expires_at=now + timedelta(days=1))
    ApiToken.issue(user=learner, name=P["token"])
    return {
        "lab": lab,
        "learner": learner,
        "teacher": teacher,
        "admin": admin,
        "cohort": cohort,
        "submission": submission,
        "regrade": regrade,
        "invite": invite.code,
    }


def pages(w):
    """(viewer, url, payloads the page shows as text)."""
    lab, cohort, sub = w["lab"], w["cohort"].pk, w["submission"].pk
    return [
        ("learner", reverse("catalog:lab_list"), ["title", "summary", "skill", "username"]),
        (
            "learner",
            reverse("catalog:lab_list") + "?skill=" + P["skill"],
            ["title", "skill"],
        ),
        # README's javascript: links come out as text, not links (Page flags a link).
        ("learner", lab.get_absolute_url(), ["title", "readme", "readme_img"]),
        (
            "learner",
            reverse("grading:submission_detail", args=[sub]),
            ["title", "check", "output", "feedback"],
        ),
        ("learner", reverse("grading:submission_file", args=[sub, "main.py"]), ["file"]),
        ("learner", reverse("grading:history", args=[lab.slug]), ["title"]),
        ("learner", reverse("cohorts:list"), ["cohort"]),
        ("learner", reverse("cohorts:my_progress", args=[cohort]), ["cohort", "title"]),
        ("learner", reverse("cohorts:join_code", args=[w["invite"]]), ["cohort"]),
        ("learner", reverse("accounts:account"), ["token"]),
        ("teacher", reverse("cohorts:dashboard", args=[cohort]), ["cohort", "username", "hidden"]),
        ("teacher", reverse("cohorts:roster", args=[cohort]), ["cohort", "username"]),
        ("teacher", reverse("cohorts:assignments", args=[cohort]), ["cohort", "title"]),
        (
            "teacher",
            reverse("cohorts:learner", args=[cohort, w["learner"].pk]),
            ["username", "check", "hidden", "output", "title"],
        ),
        (
            "teacher",
            reverse("cohorts:regrade_detail", args=[cohort, w["regrade"].pk]),
            ["username", "title"],
        ),
        (
            "teacher",
            reverse("grading:submission_detail", args=[sub]),
            ["username", "hidden", "output"],
        ),
        ("admin", reverse("grading:submission_detail", args=[sub]), ["log", "infra"]),
    ]


def test_every_hostile_text_is_shown_as_text_and_never_runs(hostile):
    clients = {}
    for who in ("learner", "teacher", "admin"):
        clients[who] = Client()
        clients[who].force_login(hostile[who])
    for who, url, shown in pages(hostile):
        response = clients[who].get(url)
        assert response.status_code == 200, url
        page = Page(response.content.decode())
        assert page.problems == [], f"{url} as {who}"
        for key in shown:
            assert page.shows(P[key]), f"{url} as {who} does not show {key} as text"


def test_hostile_file_names_in_an_upload_are_shown_as_text(hostile):
    client = Client()
    client.force_login(hostile["learner"])
    url = reverse("catalog:submission_create", args=[hostile["lab"].slug])
    archive = make_zip([(P["zip_name"], b"x")])
    response = client.post(
        url, {"source": "upload", "archive": SimpleUploadedFile("x.zip", archive)}
    )
    page = Page(refused_page(client, response, hostile["lab"]))
    assert page.problems == [] and page.shows(P["zip_name"])
    # A loose file is stored under the lab's name for it, whatever the browser called it.
    upload = SimpleUploadedFile(P["zip_name"], b"print(1)\n")
    response = client.post(url, {"source": "upload", "main.py": upload})
    assert response.status_code == 302
    assert list(Submission.objects.latest("created_at").files.values_list("name", flat=True)) == [
        "main.py"
    ]


FORMULAS = ["=cmd|' /C calc'!A0", "+SUM(1,2)", "-2+3", "@SUM(1,2)", "\t=1+1", "\r=1+1"]


def test_gradebook_csv_cells_cannot_start_a_formula(hostile, make_user):
    cohort = hostile["cohort"]
    for name in FORMULAS:
        cohort.add_member(make_user(name), Membership.Role.LEARNER)
    client = Client()
    client.force_login(hostile["teacher"])
    response = client.get(reverse("cohorts:gradebook_csv", args=[cohort.pk]))
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    names = {row[0] for row in rows[1:]}
    for name in FORMULAS:
        assert "'" + name in names
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
