"""The JSON API: token auth, the same rules and permissions as the web, an OpenAPI schema."""

import io
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import ApiToken
from grading.intake import submission_create
from grading.models import Submission, TestResult

LAB = Path(__file__).resolve().parents[2] / "labs" / "hello-sandbox"
pytestmark = pytest.mark.django_db


@pytest.fixture
def auth(learner):
    _, key = ApiToken.issue(user=learner, name="test")
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


@pytest.fixture
def other_auth(other_learner):
    _, key = ApiToken.issue(user=other_learner, name="test")
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def test_openapi_schema_describes_every_route(client):
    schema = client.get("/api/v1/openapi.json").json()
    assert schema["openapi"].startswith("3.1")
    assert set(schema["paths"]) == {
        "/labs/",
        "/labs/{slug}/",
        "/labs/{slug}/starter.zip",
        "/labs/{slug}/submissions/",
        "/submissions/{id}/",
    }


@pytest.mark.parametrize("header", [None, "Bearer nope", "Token ds_x", "Bearer ds_wrong"])
def test_api_needs_a_valid_token(client, hello_lab, header):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = client.get("/api/v1/labs/", **extra)
    assert response.status_code == 401
    assert "API token" in response.json()["error"]


def test_session_login_is_not_enough_for_the_api(client, learner, hello_lab):
    client.force_login(learner)
    assert client.get("/api/v1/labs/").status_code == 401


def test_list_and_detail(client, hello_lab, auth, learner):
    labs = client.get("/api/v1/labs/", **auth).json()["labs"]
    assert [lab["slug"] for lab in labs] == ["hello-sandbox"]
    assert labs[0]["progress"] == {"attempts": 0, "best_score": None, "passed": False}
    detail = client.get("/api/v1/labs/hello-sandbox/", **auth).json()
    assert detail["submit_files"] == ["logparse.py"]
    assert "access-log" in detail["instructions"]
    assert detail["seed"] == hello_lab.seed_for(learner)  # hello-sandbox is seeded


def test_starter_zip(client, hello_lab, auth):
    response = client.get("/api/v1/labs/hello-sandbox/starter.zip", **auth)
    names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    assert "hello-sandbox/logparse.py" in names


def test_submit_and_read_back(client, hello_lab, auth, learner):
    data = (LAB / "solution" / "logparse.py").read_bytes()
    response = client.post(
        "/api/v1/labs/hello-sandbox/submissions/",
        {"logparse.py": SimpleUploadedFile("logparse.py", data)},
        **auth,
    )
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "queued" and body["queue_position"] == 1
    submission = Submission.objects.get(pk=body["id"])
    assert submission.user == learner and submission.files.get().content.read() == data
    again = client.get(f"/api/v1/submissions/{body['id']}/", **auth).json()
    assert again["id"] == body["id"] and again["files"] == ["logparse.py"]


def test_submit_rejections_are_specific_and_queue_nothing(client, hello_lab, auth):
    response = client.post(
        "/api/v1/labs/hello-sandbox/submissions/",
        {"archive": SimpleUploadedFile("a.zip", b"not a zip")},
        **auth,
    )
    assert response.status_code == 400
    assert response.json()["error"] == "The upload is not a valid zip file."
    response = client.post("/api/v1/labs/hello-sandbox/submissions/", {}, **auth)
    assert response.status_code == 400 and "Choose the files" in response.json()["error"]
    assert not Submission.objects.exists()


def test_api_applies_the_attempt_limit(client, hello_lab, auth, learner):
    hello_lab.attempts_per_hour = 1
    hello_lab.save()
    submission_create(user=learner, lab=hello_lab, files={"logparse.py": b"x=1\n"})
    response = client.post(
        "/api/v1/labs/hello-sandbox/submissions/",
        {"logparse.py": SimpleUploadedFile("logparse.py", b"x=2\n")},
        **auth,
    )
    assert response.status_code == 400
    assert "next attempt is available at" in response.json()["error"]


def test_another_learners_submission_is_not_found(client, hello_lab, learner, other_auth):
    mine = submission_create(user=learner, lab=hello_lab, files={"logparse.py": b"x=1\n"})
    response = client.get(f"/api/v1/submissions/{mine.pk}/", **other_auth)
    assert response.status_code == 404


def test_hidden_checks_are_counts_only(client, hello_lab, learner, auth):
    submission = submission_create(user=learner, lab=hello_lab, files={"logparse.py": b"x=1\n"})
    Submission.objects.filter(pk=submission.pk).update(status="graded", score=1, max_score=2)
    for i, visibility in enumerate(("visible", "hidden")):
        TestResult.objects.create(
            submission=submission,
            position=i,
            name=f"{visibility} check",
            score=1 - i,
            max_score=1,
            status="passed" if i == 0 else "failed",
            output=f"{visibility} output",
            visibility=visibility,
        )
    body = client.get(f"/api/v1/submissions/{submission.pk}/", **auth).json()
    assert [t["name"] for t in body["tests"]] == ["visible check"]
    assert body["hidden_tests"] == {"passed": 0, "failed": 1}
    assert "hidden output" not in str(body)
