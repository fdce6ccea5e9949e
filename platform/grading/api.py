"""The JSON API (token-authenticated): labs, starter download, submit, submission status.

The same grading calls, limits and permissions as the web pages: lookups start from the
token's user, so no id reaches another learner's work.
"""

import functools
from typing import Any, cast

from django.http import JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from accounts.models import ApiToken
from catalog.models import Lab
from catalog.views import starter_zip_response
from graders import TEST_FIELDS
from grading import intake, progress
from grading.forms import UPLOAD, SubmissionForm
from grading.models import Submission
from grading.openapi import schema
from grading.uploads import SubmissionRejected


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def token_required(view):
    """Authenticate with `Authorization: Bearer <token>`; sessions are not accepted here."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        header = request.headers.get("Authorization", "")
        scheme, _, key = header.partition(" ")
        user = ApiToken.authenticate(key.strip()) if scheme.lower() == "bearer" else None
        if user is None:
            response = _error(
                401,
                "Send a valid API token: Authorization: Bearer <token> (create one on /account/).",
            )
            response["WWW-Authenticate"] = 'Bearer realm="downstack"'
            return response
        request.user = user
        return view(request, *args, **kwargs)

    return csrf_exempt(wrapped)


def lab_json(lab: Lab, request, *, detail: bool = False) -> dict:
    data = {
        "slug": lab.slug,
        "title": lab.title,
        "summary": lab.summary,
        "skills": lab.skills,
        "difficulty": lab.difficulty,
        "minutes": lab.minutes,
        "submit_files": lab.submit_files,
        "attempts_per_hour": lab.attempts_per_hour,
        "url": request.build_absolute_uri(lab.get_absolute_url()),
    }
    if hasattr(lab, "my_attempts"):
        annotated = cast(Any, lab)  # annotated by progress.labs_with_progress
        data["progress"] = {
            "attempts": annotated.my_attempts or 0,
            "best_score": annotated.my_best,
            "passed": annotated.my_passed,
        }
    if detail:
        data["instructions"] = lab.instructions_md
        data["seed"] = lab.seed_for(request.user)
        data["limits"] = {"timeout_s": lab.timeout_s, "memory_mb": lab.memory_mb}
        data["upload_kb"] = lab.upload_kb
        data["starter_url"] = request.build_absolute_uri(
            reverse("api:lab_starter", args=[lab.slug])
        )
    return data


# What the API shows of a grading result: its sandbox facts, each check's columns, and
# the outcome itself.
RUN_FACTS = (
    "duration_s",
    "peak_memory_bytes",
    "exit_code",
    "timed_out",
    "oom_killed",
    "output_truncated",
    "image",
)
OUTCOME_FIELDS = ("status", "status_detail", "score", "max_score", "feedback", "feedback_format")


def result_json(
    *, outcome: dict, facts: dict, tests: list[dict], hidden: list[dict], passed: bool
) -> dict:
    """The JSON of one grading result: score, status, feedback, checks, sandbox facts.

    Plain dicts in (the fields grading stores for a result), so a result that was never
    saved, such as one from `manage.py labs grade --json`, is shown exactly as the API
    shows a stored submission. `tests` are the checks shown in full, `hidden` those this
    viewer sees only as counts.
    """
    return {
        **{name: outcome[name] for name in OUTCOME_FIELDS},
        "passed": passed,
        "tests": [{name: test[name] for name in TEST_FIELDS} for test in tests],
        "hidden_tests": {
            "passed": sum(test["status"] == "passed" for test in hidden),
            "failed": sum(test["status"] != "passed" for test in hidden),
        },
        "run": {name: facts.get(name) for name in RUN_FACTS},
    }


def submission_json(submission: Submission, request) -> dict:
    shown, hidden = submission.checks_for(request.user)

    def stamp(value):
        return value.isoformat() if value else None

    def rows(tests):
        return [{name: getattr(test, name) for name in TEST_FIELDS} for test in tests]

    result = result_json(
        outcome={name: getattr(submission, name) for name in OUTCOME_FIELDS},
        facts={name: getattr(submission, name) for name in RUN_FACTS},
        tests=rows(shown),
        hidden=rows(hidden),
        passed=submission.passed(),
    )
    return {
        "id": str(submission.pk),
        "lab": submission.lab.slug,
        **result,
        "queued_at": stamp(submission.created_at),
        "started_at": stamp(submission.started_at),
        "finished_at": stamp(submission.finished_at),
        # While it is graded: the check the checker is working on, if it said.
        "running_check": submission.running_check or None,
        "queue_position": submission.queue_position(),
        "estimated_wait_s": submission.estimated_wait_s(),
        "files": [f.name for f in submission.files.all()],
        "url": request.build_absolute_uri(submission.get_absolute_url()),
    }


@require_GET
def openapi(request):
    return JsonResponse(schema(request.build_absolute_uri("/api/v1")))


@require_GET
@token_required
def lab_list(request):
    labs = progress.labs_with_progress(Lab.objects.active(), request.user)
    return JsonResponse({"labs": [lab_json(lab, request) for lab in labs]})


@require_GET
@token_required
def lab_detail(request, slug):
    lab = get_object_or_404(
        progress.labs_with_progress(Lab.objects.active(), request.user), slug=slug
    )
    return JsonResponse(lab_json(lab, request, detail=True))


@require_GET
@token_required
def lab_starter(request, slug):
    return starter_zip_response(get_object_or_404(Lab.objects.active(), slug=slug))


@require_http_methods(["POST"])
@token_required
def submission_create(request, slug):
    lab = get_object_or_404(Lab.objects.active(), slug=slug)
    too_large = intake.upload_size_problem(lab=lab, request=request)
    if too_large:
        return _error(413, too_large)
    form = SubmissionForm({"source": UPLOAD}, request.FILES, lab=lab)
    if not form.is_valid():
        problems = "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items())
        return _error(400, problems)
    try:
        files = form.files_by_name(intake.upload_rules(lab))
        submission = intake.submission_create(user=request.user, lab=lab, files=files)
    except SubmissionRejected as exc:
        return _error(400, str(exc))
    return JsonResponse(submission_json(submission, request), status=201)


@require_GET
@token_required
def submission_detail(request, pk):
    submission = get_object_or_404(
        Submission.objects.visible_to(request.user).select_related("lab"), pk=pk
    )
    return JsonResponse(submission_json(submission, request))
