"""The world the security tests probe: two cohorts, each with a learner and an instructor,
a lab with hidden checks and a seeded lab, graded work with files, feedback and hidden
check results, a regrade, an invite and an API token for everyone, and a site admin.

Every piece of data carries a marker text, so a test can grep any response for what the
person asking must not see. Results are stored directly (no Docker): what is under test
is who can see them, not how they were graded.
"""

from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.utils import timezone
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from accounts.models import ApiToken
from catalog.models import Lab
from catalog.sync import labs_sync
from cohorts.models import Assignment, Cohort, Membership, Regrade
from grading.models import GradeRun, Submission, SubmissionFile, TestResult
from grading.progress import labprogress_refresh
from tests.conftest import write_lab

# The upload fuzz tests: 200 examples each, the same ones on every run so that CI is
# repeatable; HYPOTHESIS_PROFILE=security-deep searches far longer with fresh examples.
hypothesis_settings.register_profile(
    "security",
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
hypothesis_settings.register_profile(
    "security-deep",
    parent=hypothesis_settings.get_profile("security"),
    max_examples=10_000,
    derandomize=False,
)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "security"))

# In no response to anyone: the reference solution and the hidden checker's files.
SOLUTION_MARKER = "SOLUTION-MARKER"
GRADER_MARKER = "GRADER-MARKER"
STARTER_MARKER = "STARTER-MARKER"
README_MARKER = "README-MARKER"


@dataclass
class Side:
    """One cohort and the people and work in it: side "a" is cohort X, side "b" cohort Y."""

    key: str
    cohort: Cohort
    learner: object
    teacher: object
    submission: Submission  # the latest graded attempt, with hidden checks
    older: Submission  # an earlier attempt, for history and diffs
    regrade: Regrade
    invite_code: str
    seed: int  # the learner's seed on the seeded lab
    # What the side's learner (and so its teacher and the admin) may see.
    learner_markers: list[str] = field(default_factory=list)
    # What only the side's teacher and the admin may see: hidden checks, invites.
    teacher_markers: list[str] = field(default_factory=list)

    @property
    def markers(self) -> list[str]:
        return self.learner_markers + self.teacher_markers


@dataclass
class World:
    lab: Lab
    seeded_lab: Lab
    a: Side
    b: Side
    admin: object
    keys: dict[int, str]  # user pk -> API key
    token_ids: dict[int, int]  # user pk -> ApiToken pk
    token_names: dict[int, str]

    def other(self, side: Side) -> Side:
        return self.b if side is self.a else self.a

    def forbidden(self, user) -> list[str]:
        """Marker texts that must not appear in any response to this user (None: anonymous)."""
        secrets = [SOLUTION_MARKER, GRADER_MARKER]
        pk = getattr(user, "pk", None)
        tokens = [name for owner, name in self.token_names.items() if owner != pk]
        if user is None:
            return secrets + tokens + self.a.markers + self.b.markers
        if user == self.admin:
            return secrets + tokens
        for side in (self.a, self.b):
            other = self.other(side).markers
            if user == side.learner:
                return secrets + tokens + other + side.teacher_markers
            if user == side.teacher:
                return secrets + tokens + other
        raise AssertionError(f"{user} is not in the world")


def marker_in(marker: str, text: str) -> bool:
    """Whether the marker occurs as a whole word (so seed 123 is not found in 51234)."""
    return re.search(rf"(?<![\w-]){re.escape(marker)}(?![\w-])", text) is not None


def _graded(user, lab, key: str, *, version: str, at) -> Submission:
    upper = key.upper()
    submission = Submission.objects.create(
        user=user,
        lab=lab,
        status=Submission.Status.GRADED,
        score=2,
        max_score=4,
        feedback=f"Summary FEEDBACK-{upper}-{version}",
        finished_at=at,
        duration_s=0.5,
    )
    Submission.objects.filter(pk=submission.pk).update(created_at=at)
    content = f"# FILE-{upper}-{version}\nprint('{key}')\n".encode()
    SubmissionFile.objects.create(
        submission=submission,
        name="main.py",
        size=len(content),
        content=ContentFile(content, "main.py"),
    )
    checks = [
        ("VISIBLE", "visible", "passed"),
        ("HIDDEN", "hidden", "failed"),
        ("LATER", "after_due_date", "passed"),
    ]
    for position, (kind, visibility, status) in enumerate(checks):
        TestResult.objects.create(
            submission=submission,
            position=position,
            name=f"{kind}-CHECK-{upper}",
            output=f"{kind}-OUTPUT-{upper}",
            score=1 if status == "passed" else 0,
            max_score=1,
            status=status,
            visibility=visibility,
        )
    return submission


def _side(key, *, cohort_name, lab, seeded_lab, make_user) -> Side:
    upper = key.upper()
    learner = make_user(f"learner-{key}")
    teacher = make_user(f"teacher-{key}")
    cohort = Cohort.objects.create(name=cohort_name)
    cohort.add_member(learner, Membership.Role.LEARNER)
    cohort.add_member(teacher, Membership.Role.INSTRUCTOR)
    now = timezone.now()
    for assigned in (lab, seeded_lab):
        Assignment.objects.create(
            cohort=cohort,
            lab=assigned,
            opens_at=now - timedelta(days=7),
            due_at=now + timedelta(days=7),  # after_due_date checks stay hidden
        )
    older = _graded(learner, lab, key, version="OLD", at=now - timedelta(hours=2))
    submission = _graded(learner, lab, key, version="NEW", at=now - timedelta(hours=1))
    labprogress_refresh(user_id=learner.pk, lab_id=lab.pk)
    regrade = Regrade.objects.create(cohort=cohort, lab=lab, requested_by=teacher)
    GradeRun.objects.create(
        submission=submission,
        regrade=regrade,
        status=GradeRun.Status.GRADED,
        score=4,
        max_score=4,
        feedback=f"Regraded FEEDBACK-{upper}-NEW",
        tests=[
            {
                "name": f"HIDDEN-CHECK-{upper}",
                "score": 1,
                "max_score": 1,
                "status": "passed",
                "output": f"HIDDEN-OUTPUT-{upper}",
                "visibility": "hidden",
                "tags": [],
            }
        ],
        finished_at=now,
    )
    invite = cohort.invites.create(created_by=teacher, expires_at=now + timedelta(days=3))
    seed = seeded_lab.seed_for(learner)
    return Side(
        key=key,
        cohort=cohort,
        learner=learner,
        teacher=teacher,
        submission=submission,
        older=older,
        regrade=regrade,
        invite_code=invite.code,
        seed=seed,
        learner_markers=[
            cohort_name,
            learner.username,
            str(seed),
            str(submission.pk),
            str(older.pk),
            f"FILE-{upper}-NEW",
            f"FILE-{upper}-OLD",
            f"FEEDBACK-{upper}-NEW",
            f"VISIBLE-CHECK-{upper}",
            f"VISIBLE-OUTPUT-{upper}",
        ],
        teacher_markers=[
            teacher.username,
            invite.code,
            str(regrade.pk),
            f"HIDDEN-CHECK-{upper}",
            f"HIDDEN-OUTPUT-{upper}",
            f"LATER-CHECK-{upper}",
            f"LATER-OUTPUT-{upper}",
        ],
    )


@pytest.fixture(autouse=True)
def fast_hasher(settings):
    """Users are made, and log-ins tried, by the dozen here: a cheap hasher keeps that fast
    (password storage is not under test)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def fresh_cache():
    """Log-in throttling counts live in the cache; each test starts with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def world(db, labs_dir, make_user, settings, tmp_path) -> World:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    for slug, extra in (("secure-lab", ""), ("seeded-lab", "\n[grader]\nseeded = true\n")):
        path = write_lab(labs_dir, slug, "print('checker')\n", extra_toml=extra)
        (path / "starter" / "main.py").write_text(f"# {STARTER_MARKER}\n")
        (path / "solution" / "main.py").write_text(f"# {SOLUTION_MARKER}\n")
        (path / "grader" / "check.py").write_text(f"# {GRADER_MARKER}\n")
        (path / "grader" / "expected.txt").write_text(f"{GRADER_MARKER}\n")
        (path / "README.md").write_text(f"# {slug}\n\n{README_MARKER}\n")
    report = labs_sync(root=labs_dir)
    assert not report.errors, report.errors
    lab = Lab.objects.get(slug="secure-lab")
    seeded_lab = Lab.objects.get(slug="seeded-lab")
    a = _side("a", cohort_name="COHORT-X", lab=lab, seeded_lab=seeded_lab, make_user=make_user)
    b = _side("b", cohort_name="COHORT-Y", lab=lab, seeded_lab=seeded_lab, make_user=make_user)
    admin = make_user("site-admin", staff=True)
    keys, token_ids, token_names = {}, {}, {}
    for user in (a.learner, a.teacher, b.learner, b.teacher, admin):
        name = f"TOKEN-{uuid.uuid4().hex[:8]}"
        token, keys[user.pk] = ApiToken.issue(user=user, name=name)
        token_ids[user.pk], token_names[user.pk] = token.pk, name
    return World(lab, seeded_lab, a, b, admin, keys, token_ids, token_names)
