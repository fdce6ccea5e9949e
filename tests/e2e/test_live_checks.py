"""Checks shown as they finish, and a time-out that keeps what was earned, through the
real pipeline: the API, a real Celery worker, Docker."""

import shutil
from pathlib import Path

import pytest
from django.test import Client

from accounts.models import ApiToken
from catalog.models import Lab
from catalog.sync import labs_sync
from grading.intake import submission_create
from grading.models import Submission
from tests.conftest import write_lab
from tests.worker_process import finished, wait_for

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.docker, pytest.mark.worker]


def api_client(user) -> tuple[Client, dict]:
    _, key = ApiToken.issue(user=user, name="live")
    return Client(), {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def test_check_rows_appear_in_the_api_before_the_final_score(
    learner, labs_dir, grader_image, start_worker
):
    # retry-storm scores its diagnosis at once, then simulates for many seconds more.
    shutil.copytree(ROOT / "labs" / "retry-storm", labs_dir / "retry-storm")
    assert not labs_sync(root=labs_dir).errors
    lab = Lab.objects.get(slug="retry-storm")
    files = {
        name: (ROOT / "labs/retry-storm/solution" / name).read_bytes() for name in lab.submit_files
    }
    client, auth = api_client(learner)
    worker = start_worker()
    submission = submission_create(user=learner, lab=lab, files=files)

    def running_with_checks():
        """a check row in the API while the submission is still running"""
        body = client.get(f"/api/v1/submissions/{submission.pk}/", **auth).json()
        shown = len(body["tests"]) + sum(body["hidden_tests"].values())
        return body if body["status"] == "running" and shown else None

    early = wait_for(running_with_checks, timeout=240, interval=0.1)
    assert early["score"] is None and early["finished_at"] is None
    final = wait_for(finished(submission.pk), timeout=240)
    assert final.status == "graded", worker.output()[-3000:]
    body = client.get(f"/api/v1/submissions/{submission.pk}/", **auth).json()
    # What was shown early is what the final result says, at the same place.
    for early_test, final_test in zip(early["tests"], body["tests"], strict=False):
        assert early_test["name"] == final_test["name"]
        assert early_test["score"] == final_test["score"]
    assert body["running_check"] is None


HANGS_ON_CASE_2 = """
import time
from downstack_harness import Grader

g = Grader()
for number in (1, 2, 3):
    g.expect(f"case {number}", max_score=1)
g.expect("hidden case", max_score=2, visibility="hidden")
for number in (1, 2, 3):
    g.running(f"case {number}")
    run = g.run_learner(["python3", "main.py"], input=str(number).encode(), timeout_s=600)
    g.check(f"case {number}", run.stdout.strip() == str(number * 2).encode())
g.check("hidden case", True, max_score=2, visibility="hidden")
g.emit()
"""
# Doubles its input, except that it never answers case 2.
HANGS = b"import time\nn = int(input())\nif n == 2:\n    time.sleep(3600)\nprint(n * 2)\n"


@pytest.mark.parametrize("partial", [True, False])
def test_a_program_that_hangs_on_one_case_keeps_the_credit_earned_before_it(
    learner, labs_dir, grader_image, start_worker, partial
):
    extra = "" if partial else "\n[grader]\npartial_on_timeout = false\n"
    write_lab(labs_dir, "hangs", HANGS_ON_CASE_2, timeout_s=8, extra_toml=extra)
    assert not labs_sync(root=labs_dir).errors
    lab = Lab.objects.get(slug="hangs")
    worker = start_worker()
    submission = submission_create(user=learner, lab=lab, files={"main.py": HANGS})
    graded = wait_for(finished(submission.pk), timeout=120)
    assert graded.status == Submission.Status.GRADED, worker.output()[-3000:]
    assert graded.timed_out
    client, auth = api_client(learner)
    body = client.get(f"/api/v1/submissions/{submission.pk}/", **auth).json()
    if not partial:
        assert (graded.score, graded.max_score) == (0, None)
        assert body["tests"] == []
        return
    assert (graded.score, graded.max_score) == (1, 5)
    assert graded.status_detail == (
        "Grading stopped after 8 s: your program ran past the time limit. The checks "
        "finished before then are scored; “case 2” was running when time ran out; "
        "3 did not finish."
    )
    rows = [
        (t["name"], t["score"], t["max_score"], t["status"], t["output"]) for t in body["tests"]
    ]
    assert rows == [
        ("case 1", 1, 1, "passed", ""),
        ("case 2", 0, 1, "failed", "Running when the time limit of 8 s was reached; not finished."),
        ("case 3", 0, 1, "failed", "Not run: the time limit of 8 s was reached before this check."),
    ]
    assert body["hidden_tests"] == {"passed": 0, "failed": 1}
    page = Client()
    page.force_login(learner)
    html = page.get(graded.get_absolute_url()).content.decode()
    assert "1 of 5" in html and "not run" in html and "“case 2” was running" in html
