"""No page of a learner's or an instructor's walk is wider than a 390 px phone, with or
without JavaScript (Debian's Chromium driven by Playwright), and "Log out" stays on it.

The data is stored directly (graded submissions with files, a cohort, an assignment, a
regrade), so neither Docker nor a worker is needed. A page that is too wide fails naming
the element that sticks out; screenshots land in var/screenshots/ for people to look at.
"""

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission, User
from django.contrib.auth.tokens import default_token_generator
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from catalog.models import Lab
from catalog.sync import labs_sync
from cohorts.models import Assignment, Cohort, Invite, Membership, Regrade
from grading.models import GradeRun, Submission, SubmissionFile, TestResult
from grading.progress import labprogress_refresh
from tests.browser.screens import SHOTS
from tests.browser.session import session_context

PHONE = {"width": 390, "height": 844}
LABS = Path(__file__).resolve().parents[2] / "labs"
SLUGS = sorted(path.parent.name for path in LABS.glob("*/lab.toml"))
pytestmark = pytest.mark.browser

# The outermost elements whose right edge is past the screen's, unless a scroll box that
# fits the screen holds them: those are what widen the page.
STICKING_OUT = """() => {
  const edge = document.documentElement.clientWidth;
  const held = (el) => {
    for (let up = el.parentElement; up; up = up.parentElement) {
      if (getComputedStyle(up).overflowX !== "visible" && up.getBoundingClientRect().right <= edge)
        return true;
    }
    return false;
  };
  const out = [...document.body.querySelectorAll("*")].filter(
    (el) => el.getBoundingClientRect().right > edge + 0.5 && !held(el));
  const name = (el) => el.tagName.toLowerCase() + [...el.classList].map((c) => "." + c).join("");
  const right = (el) => Math.round(el.getBoundingClientRect().right);
  return out.filter((el) => !out.includes(el.parentElement)).slice(0, 3).map(
    (el) => `${name(el.parentElement)} > ${name(el)} ends at ${right(el)} px`);
}"""


@dataclass
class World:
    """What the pages show: one learner's work in one cohort, and its instructor."""

    learner: User
    instructor: User
    lab: Lab
    cohort: Cohort
    older: Submission
    newer: Submission
    regrade: Regrade


def graded(user, lab, score, *, files, at) -> Submission:
    """A graded submission with its files and one check whose output has a long path."""
    submission = Submission.objects.create(
        user=user,
        lab=lab,
        status=Submission.Status.GRADED,
        score=score,
        max_score=10,
        lab_content_hash=lab.content_hash,
        finished_at=at,
    )
    Submission.objects.filter(pk=submission.pk).update(created_at=at)
    for name, text in files.items():
        data = text.encode()
        SubmissionFile.objects.create(
            submission=submission, name=name, size=len(data), content=ContentFile(data, name)
        )
    TestResult.objects.create(
        submission=submission,
        position=0,
        name="request lines with spaces, escaped quotes and '-' in the referrer field",
        score=score,
        max_score=10,
        status="passed" if score == 10 else "failed",
        output="expected /api/v1/reports/2024/quarterly-summary-with-a-long-name.json\n" * 3,
        visibility="visible",
    )
    labprogress_refresh(user_id=user.pk, lab_id=lab.pk)
    return submission


@pytest.fixture
def world(transactional_db, make_user, tmp_path, settings) -> World:
    """Every lab synced from the repository; ada's two graded attempts at hello-sandbox, assigned
    in a cohort that a long-named instructor teaches; an invite and a dry-run regrade."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.LABS_DIR = LABS
    report = labs_sync(root=LABS)
    assert not report.errors, report.errors
    lab = Lab.objects.get(slug="hello-sandbox")
    learner = make_user("ada")
    # A long name, so the top bar has to make room for it.
    instructor = make_user("katherine_johnson_langley")
    instructor.user_permissions.add(Permission.objects.get(codename="create_cohort"))
    cohort = Cohort.objects.create(name="Spring systems, evening group")
    cohort.add_member(instructor, Membership.Role.INSTRUCTOR)
    cohort.add_member(learner, Membership.Role.LEARNER)
    now = timezone.now()
    Assignment.objects.create(
        cohort=cohort,
        lab=lab,
        opens_at=now - timedelta(days=30),
        due_at=now + timedelta(days=7),
        late_policy="penalty",
        penalty_per_day=10.0,
    )
    Invite.objects.create(cohort=cohort, expires_at=now + timedelta(days=7))
    starter = (LABS / lab.slug / "starter" / "logparse.py").read_text()
    solution = (LABS / lab.slug / "solution" / "logparse.py").read_text()
    older = graded(learner, lab, 6, files={"logparse.py": starter}, at=now - timedelta(hours=1))
    newer = graded(learner, lab, 10, files={"logparse.py": solution}, at=now)
    regrade = Regrade.objects.create(cohort=cohort, lab=lab, requested_by=instructor)
    GradeRun.objects.create(
        submission=newer, regrade=regrade, status=GradeRun.Status.GRADED, score=7, max_score=10
    )
    return World(learner, instructor, lab, cohort, older, newer, regrade)


def reset_link(user) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return reverse("password_reset_confirm", args=[uid, default_token_generator.make_token(user)])


def in_cohort(name):
    return lambda w: reverse(name, args=[w.cohort.pk])


# Who looks (None: nobody is logged in), the page's name, and its address.
PAGES = [
    (None, "login", lambda w: reverse("login")),
    (None, "signup", lambda w: reverse("signup")),
    (None, "password-reset", lambda w: reverse("password_reset")),
    (None, "new-password", lambda w: reset_link(w.learner)),
    (None, "invitation", lambda w: w.cohort.invites.get().get_absolute_url()),
    (None, "verify-credential", lambda w: reverse("records:verify")),
    ("learner", "labs", lambda w: reverse("catalog:lab_list")),
    *(
        ("learner", f"lab-{slug}", lambda w, slug=slug: reverse("catalog:lab_detail", args=[slug]))
        for slug in SLUGS
    ),
    ("learner", "history", lambda w: reverse("grading:history", args=[w.lab.slug])),
    ("learner", "result", lambda w: w.older.get_absolute_url()),
    (
        "learner",
        "file",
        lambda w: reverse("grading:submission_file", args=[w.older.pk, "logparse.py"]),
    ),
    ("learner", "my-progress", in_cohort("cohorts:my_progress")),
    ("learner", "account", lambda w: reverse("accounts:account")),
    ("learner", "skills-record", lambda w: reverse("records:mine")),
    ("learner", "leaderboard", lambda w: reverse("grading:leaderboard", args=[w.lab.slug])),
    ("learner", "cohorts", lambda w: reverse("cohorts:list")),
    ("learner", "join", lambda w: reverse("cohorts:join")),
    ("learner", "not-found", lambda w: "/no-such-page/"),
    ("instructor", "cohorts", lambda w: reverse("cohorts:list")),
    ("instructor", "new-cohort", lambda w: reverse("cohorts:new")),
    ("instructor", "dashboard", in_cohort("cohorts:dashboard")),
    ("instructor", "roster", in_cohort("cohorts:roster")),
    ("instructor", "assignments", in_cohort("cohorts:assignments")),
    ("instructor", "tracks", in_cohort("cohorts:tracks")),
    ("instructor", "settings", in_cohort("cohorts:settings")),
    (
        "instructor",
        "learner",
        lambda w: reverse("cohorts:learner", args=[w.cohort.pk, w.learner.pk]),
    ),
    ("instructor", "regrade", lambda w: w.regrade.get_absolute_url()),
    ("instructor", "result", lambda w: w.newer.get_absolute_url()),
    ("instructor", "account", lambda w: reverse("accounts:account")),
    ("instructor", "not-found", lambda w: reverse("cohorts:dashboard", args=[999999])),
]
# A page of another's that is still too wide goes here, as
# pytest.mark.xfail(strict=True, reason="<page>: <element> is N px"), until it is fixed.
TOO_WIDE: dict[tuple[str | None, str], pytest.MarkDecorator] = {}


def phone_context(browser, live_server, user, *, javascript):
    """A phone's browser, with the user's session when there is one (the log-in page is
    measured as a page of its own)."""
    return session_context(
        browser, live_server, user, viewport=PHONE, java_script_enabled=javascript
    )


def phone_problems(context, url: str, *, shot: str, status: int, logged_in: bool) -> list[str]:
    """Why the page at url does not fit the phone (nothing when it does); saves its screenshot."""
    page = context.new_page()
    response = page.goto(url)
    assert response.status == status, f"{shot}: {response.status}"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / f"{shot}.png", full_page=True)
    problems = []
    wide = page.evaluate("document.documentElement.scrollWidth")
    if wide > PHONE["width"]:
        problems.append(f"{shot} is {wide} px wide: {'; '.join(page.evaluate(STICKING_OUT))}")
    log_out = page.locator(".topbar button:has-text('Log out')")
    assert log_out.count() == (1 if logged_in else 0), f"{shot}: logged in is not {logged_in}"
    if logged_in:
        box = log_out.bounding_box()
        if box["x"] + box["width"] > PHONE["width"]:
            problems.append(f"{shot}: Log out ends at {box['x'] + box['width']:.0f} px")
    page.close()
    return problems


@pytest.mark.parametrize(
    ("who", "name", "address"),
    [
        pytest.param(
            who, name, address, id=f"{who or 'visitor'}-{name}", marks=TOO_WIDE.get((who, name), ())
        )
        for who, name, address in PAGES
    ],
)
def test_no_page_is_wider_than_a_phone(browser, live_server, world, who, name, address):
    user = {None: None, "learner": world.learner, "instructor": world.instructor}[who]
    problems = []
    for javascript, suffix in ((True, ""), (False, "-nojs")):
        context = phone_context(browser, live_server, user, javascript=javascript)
        problems += phone_problems(
            context,
            live_server.url + address(world),
            shot=f"phone-{who or 'visitor'}-{name}{suffix}",
            status=404 if name == "not-found" else 200,
            logged_in=user is not None,
        )
        context.close()
    assert not problems, "\n".join(problems)
