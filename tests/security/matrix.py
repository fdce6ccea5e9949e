"""Who may do what: every URL of the site, requested as each kind of person, with the
exact outcome expected. test_permission_matrix runs it; test_csrf reuses its POSTs.

A case is written from one side's point of view (see conftest.World) and run for both
sides, so that "the learner" is learner A for cohort X's objects and learner B for
cohort Y's. The expected outcomes are listed in ROLES order:

    anon     not logged in (no token for the API)
    learner  the learner whose object it is (cohort X's learner for X's objects)
    peer     the learner of the other cohort
    teacher  the instructor of the object's cohort
    stranger the instructor of the other cohort
    admin    site staff (`is_staff`): the code's notion of an admin, who runs every
             cohort (Cohort.objects.taught_by) and sees every submission (visible_to)

    L        302 to the log-in page; any other entry is the status code
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

ROLES = ("anon", "learner", "peer", "teacher", "stranger", "admin")


@dataclass(frozen=True)
class Ctx:
    """What a case's lambdas get: the world, the side the case is about, the other side,
    and the person asking (None when anonymous) with their role."""

    world: object
    side: object
    other: object
    user: object
    role: str


@dataclass(frozen=True)
class Case:
    route: str
    method: str
    expect: str
    args: Callable[[Ctx], list] = lambda c: []
    data: Callable[[Ctx], dict] = lambda c: {}
    # Texts a 200 (or 201) response must hold: proof that the right object is shown.
    shows: Callable[[Ctx], list[str]] = lambda c: []
    # Markers this page shows by design to anyone who has its URL (e.g. an invite link).
    reveals: Callable[[Ctx], list[str]] = lambda c: []
    label: str = ""
    expected: dict[str, str] = field(init=False)

    def __post_init__(self):
        codes = self.expect.split()
        assert len(codes) == len(ROLES), f"{self.route}: {len(codes)} outcomes"
        object.__setattr__(self, "expected", dict(zip(ROLES, codes, strict=True)))

    @property
    def api(self) -> bool:
        return self.route.startswith("api:")

    @property
    def id(self) -> str:
        return f"{self.method} {self.route}{' ' + self.label if self.label else ''}"


def _lab(c: Ctx) -> list:
    return [c.world.lab.slug]


def _published_record(c: Ctx) -> list:
    """The side's learner's record, published with their lab shown (rolled back after)."""
    from records.models import SkillsRecord

    record, _ = SkillsRecord.objects.get_or_create(
        user=c.side.learner,
        defaults={
            "display_name": f"PUBLIC-NAME-{c.side.key.upper()}",
            "token": SkillsRecord.new_token(),
            "published_at": timezone.now(),
        },
    )
    record.shown_labs.set([c.world.lab])
    return [record.token]


def _a_track(c: Ctx) -> list:
    from catalog.models import Track

    track, made = Track.objects.get_or_create(
        slug="a-track", defaults={"title": "A track", "summary": "s", "content_hash": "h"}
    )
    if made:
        track.steps.create(lab=c.world.lab, position=0)
    return [track.slug]


def _a_credential(c: Ctx) -> list:
    """A credential of the side's learner (its token is not a real one: not needed here)."""
    import uuid

    from catalog.models import Track
    from records.models import Credential

    track = Track.objects.get(slug=_a_track(c)[0])
    credential, _ = Credential.objects.get_or_create(
        user=c.side.learner,
        track=track,
        defaults={
            "id": uuid.uuid4(),
            "subject_name": f"PUBLIC-NAME-{c.side.key.upper()}",
            "issued_at": timezone.now(),
            "kid": "key",
            "token": "x.y.z",
        },
    )
    return [credential.pk]


def _refused_import(c: Ctx) -> list:
    """An import site staff handed in that was refused (the request's changes roll back)."""
    from grading.models import AutograderImport

    record = AutograderImport.objects.create(
        archive="autograder-imports/hw.zip",
        archive_name="hw.zip",
        slug="hw",
        title="Homework",
        status=AutograderImport.Status.REFUSED,
        error="the zip has no run_autograder at its root",
    )
    return [record.pk]


def _cohort(c: Ctx) -> list:
    return [c.side.cohort.pk]


def _regrade(c: Ctx) -> list:
    return [c.side.cohort.pk, c.side.regrade.pk]


def _privileged(c: Ctx) -> bool:
    return c.role in ("teacher", "admin")


def _submission_shows(c: Ctx) -> list[str]:
    key = c.side.key.upper()
    seen = [f"FEEDBACK-{key}-NEW", f"VISIBLE-CHECK-{key}", f"VISIBLE-OUTPUT-{key}"]
    if _privileged(c):
        return [*seen, f"HIDDEN-CHECK-{key}", f"HIDDEN-OUTPUT-{key}", f"LATER-CHECK-{key}"]
    return seen


def _own_seed(c: Ctx) -> list[str]:
    return [str(c.world.seeded_lab.seed_for(c.user))]


def _cohorts_listed(c: Ctx) -> list[str]:
    if c.role == "admin":
        return [c.side.cohort.name, c.other.cohort.name]
    mine = c.side if c.role in ("learner", "teacher") else c.other
    return [mine.cohort.name]


def _upload() -> dict:
    return {"main.py": SimpleUploadedFile("main.py", b"print('new attempt')\n")}


GET_ONLY = "L 405 405 405 405 405"  # a POST-only page asked with GET
EVERYONE = "L 200 200 200 200 200"
TEACHERS = "L 404 404 200 404 200"  # instructor pages: the cohort's teacher and the admin
TEACHERS_POST = "L 404 404 302 404 302"
STAFF = "L 404 404 404 404 200"  # site staff's pages, which exist for nobody else

MATRIX: list[Case] = [
    # Log-in and out: open to all; log-out takes only POST (Django's LogoutView).
    Case("login", "get", "200 200 200 200 200 200"),
    Case(
        "login",
        "post",
        "200 200 200 200 200 200",  # a wrong password: the form again
        data=lambda c: {"username": f"guess-{c.side.key}-{c.role}", "password": "wrong"},
    ),
    Case("logout", "get", "405 405 405 405 405 405"),
    Case("logout", "post", "302 302 302 302 302 302"),
    # Sign-up (by invite, the default) and password reset: open to all; someone logged in
    # who asks for sign-up is sent on.
    Case("signup", "get", "200 302 302 302 302 302"),
    Case(
        "signup",
        "post",
        "400 302 302 302 302 302",  # a bad invite code: the form again, no account
        data=lambda c: {"username": f"new-{c.side.key}-{c.role}", "invite": "no-such-code"},
    ),
    Case("password_reset", "get", "200 200 200 200 200 200"),
    Case(
        "password_reset",
        "post",
        "302 302 302 302 302 302",  # the same answer whether or not the address is known
        data=lambda c: {"email": f"nobody-{c.side.key}-{c.role}@example.org"},
    ),
    Case("password_reset_done", "get", "200 200 200 200 200 200"),
    Case(
        "password_reset_confirm",
        "get",
        "200 200 200 200 200 200",  # a bad link: the page says so
        args=lambda c: ["MQ", "set-password"],
    ),
    Case("password_reset_complete", "get", "200 200 200 200 200 200"),
    # The operator's probes: no log-in. Readiness fails here for want of a worker
    # heartbeat; the metrics go to the test client's loopback address, whoever asks, and
    # hold counts by lab, never a person's data (the marker checks prove it).
    Case("healthz", "get", "200 200 200 200 200 200"),
    Case("readyz", "get", "503 503 503 503 503 503"),
    Case(
        "metrics",
        "get",
        "200 200 200 200 200 200",
        shows=lambda c: [f'downstack_submissions{{lab="{c.world.lab.slug}",status="graded"}}'],
    ),
    # The account page: one's own time zone and tokens.
    Case("accounts:account", "get", EVERYONE, shows=lambda c: [c.world.token_names[c.user.pk]]),
    Case("accounts:time_zone_set", "get", GET_ONLY),
    Case(
        "accounts:time_zone_set",
        "post",
        "L 302 302 302 302 302",
        data=lambda c: {"time_zone": "Europe/Paris"},
    ),
    Case("accounts:token_create", "get", GET_ONLY),
    Case("accounts:token_create", "post", "L 302 302 302 302 302", data=lambda c: {"name": "cli"}),
    Case(
        "accounts:token_revoke",
        "get",
        GET_ONLY,
        args=lambda c: [c.world.token_ids[c.side.learner.pk]],
    ),
    Case(
        "accounts:token_revoke",
        "post",
        "L 302 404 404 404 404",
        args=lambda c: [c.world.token_ids[c.side.learner.pk]],
    ),
    # The catalog: every lab is open to everyone logged in; the seed is one's own.
    Case(
        "catalog:lab_list",
        "get",
        EVERYONE,
        shows=lambda c: [c.world.lab.title, c.world.seeded_lab.title],
    ),
    Case("catalog:lab_detail", "get", EVERYONE, args=_lab, shows=lambda c: ["README-MARKER"]),
    Case(
        "catalog:lab_detail",
        "get",
        EVERYONE,
        args=lambda c: [c.world.seeded_lab.slug],
        shows=_own_seed,
        label="seeded",
    ),
    Case("catalog:lab_starter", "get", EVERYONE, args=_lab, shows=lambda c: ["STARTER-MARKER"]),
    # Submitting and following one's submissions.
    Case("catalog:submission_create", "get", GET_ONLY, args=_lab),
    Case(
        "catalog:submission_create",
        "post",
        "L 302 302 302 302 302",
        args=_lab,
        data=lambda c: {"source": "editor", "editor:main.py": "print('new attempt')\n"},
    ),
    Case(
        "grading:submission_detail",
        "get",
        "L 200 404 200 404 200",
        args=lambda c: [c.side.submission.pk],
        shows=_submission_shows,
    ),
    Case(
        "grading:submission_file",
        "get",
        "L 200 404 200 404 200",
        args=lambda c: [c.side.submission.pk, "main.py"],
        shows=lambda c: [f"FILE-{c.side.key.upper()}-NEW"],
    ),
    Case("records:mine", "get", EVERYONE),
    Case(
        "records:mine",
        "post",
        "L 302 302 302 302 302",
        data=lambda c: {"action": "save", "display_name": "Me", "labs": [c.world.lab.pk]},
    ),
    # A published record is for anyone with its link, and shows only what its learner
    # chose: the name they gave, their passed labs' evidence; never their account.
    Case(
        "records:public",
        "get",
        "200 200 200 200 200 200",
        args=_published_record,
        shows=lambda c: [f"PUBLIC-NAME-{c.side.key.upper()}"],
        reveals=lambda c: [f"PUBLIC-NAME-{c.side.key.upper()}"],
    ),
    Case(
        "records:public",
        "get",
        "404 404 404 404 404 404",
        args=lambda c: ["no-such-record-token"],
        label="unknown link",
    ),
    Case("records:credential_download", "get", GET_ONLY, args=_a_track),
    # Nobody in the world completed the track: each is sent back to their record.
    Case("records:credential_download", "post", "L 302 302 302 302 302", args=_a_track),
    Case("records:verify", "get", "200 200 200 200 200 200"),
    Case(
        "records:verify",
        "post",
        "200 200 200 200 200 200",
        data=lambda c: {"credential": "not.a.credential"},
    ),
    Case("records:credential_revoke", "get", GET_ONLY, args=_a_credential),
    Case(
        "records:credential_revoke",
        "post",
        "L 404 404 404 404 200",
        args=_a_credential,
        data=lambda c: {"reason": "misconduct"},
    ),
    Case("records:issuer_profile", "get", "200 200 200 200 200 200"),
    Case("records:issuer_keys", "get", "200 200 200 200 200 200"),
    Case("cohorts:tracks", "get", TEACHERS, args=lambda c: [c.side.cohort.pk]),
    Case("cohorts:credentials_csv", "get", TEACHERS, args=lambda c: [c.side.cohort.pk]),
    Case("staff:autograder_import_new", "get", STAFF),
    Case("staff:autograder_import_new", "post", "L 404 404 404 404 400", label="empty form"),
    Case("staff:autograder_import", "get", STAFF, args=_refused_import),
    Case(
        "staff:autograder_import",
        "post",
        "L 404 404 404 404 302",
        args=_refused_import,
        data=lambda c: {"action": "look"},
    ),
    Case("grading:leaderboard", "get", EVERYONE, args=_lab),
    Case(
        "grading:leaderboard",
        "post",
        "L 302 302 302 302 302",
        args=_lab,
        data=lambda c: {"name": "Ada the Great"},
    ),
    Case(
        "grading:history",
        "get",
        EVERYONE,
        args=_lab,
        # Someone else's attempt ids in the query are ignored.
        data=lambda c: {"a": c.other.older.pk, "b": c.other.submission.pk},
        shows=lambda c: [str(c.side.submission.pk)] if c.role == "learner" else [],
        label="with another learner's ids",
    ),
    Case(
        "grading:history",
        "get",
        EVERYONE,
        args=_lab,
        shows=lambda c: (
            [f"FILE-{c.side.key.upper()}-OLD", f"FILE-{c.side.key.upper()}-NEW"]
            if c.role == "learner"
            else []
        ),
    ),
    # The token API: a token stands for its user, with the same rules as the pages.
    Case("api:openapi", "get", "200 200 200 200 200 200"),
    Case(
        "api:lab_list",
        "get",
        "401 200 200 200 200 200",
        shows=lambda c: [c.world.lab.slug, c.world.seeded_lab.slug],
    ),
    Case(
        "api:lab_detail",
        "get",
        "401 200 200 200 200 200",
        args=lambda c: [c.world.seeded_lab.slug],
        shows=_own_seed,
    ),
    Case(
        "api:lab_starter",
        "get",
        "401 200 200 200 200 200",
        args=_lab,
        shows=lambda c: ["STARTER-MARKER"],
    ),
    Case("api:submission_create", "get", "405 405 405 405 405 405", args=_lab),
    Case(
        "api:submission_create",
        "post",
        "401 201 201 201 201 201",
        args=_lab,
        data=lambda c: _upload(),
    ),
    Case(
        "api:submission_detail",
        "get",
        "401 200 404 200 404 200",
        args=lambda c: [c.side.submission.pk],
        shows=_submission_shows,
    ),
    # Cohorts as a learner: the list, joining with a code, one's own progress.
    Case("cohorts:list", "get", EVERYONE, shows=_cohorts_listed),
    Case("cohorts:join", "get", EVERYONE),
    Case("cohorts:join", "post", "L 400 400 400 400 400", data=lambda c: {"code": "no-such-code"}),
    Case(
        "cohorts:join_code",
        "get",
        # Logged out too: the invitation page, offering sign-up or log-in.
        "200 200 200 200 200 200",
        args=lambda c: [c.side.invite_code],
        shows=lambda c: [c.side.cohort.name],
        # An invite link names its cohort to whoever holds it; that is what it is for.
        reveals=lambda c: [c.side.cohort.name, c.side.invite_code],
    ),
    Case(
        "cohorts:join_code",
        "post",
        "L 302 302 302 302 302",
        args=lambda c: [c.side.invite_code],
        data=lambda c: {"code": c.side.invite_code},
    ),
    Case(
        "cohorts:my_progress",
        "get",
        "L 200 404 404 404 404",
        args=_cohort,
        shows=lambda c: [c.side.cohort.name],
    ),
    # Creating a cohort: site staff and holders of cohorts.create_cohort (nobody here).
    Case("cohorts:new", "get", "L 403 403 403 403 200"),
    Case("cohorts:new", "post", "L 403 403 403 403 302", data=lambda c: {"name": "New cohort"}),
    # Cohorts as an instructor: only the cohort's own teacher and the admin.
    Case(
        "cohorts:settings",
        "get",
        TEACHERS,
        args=_cohort,
        shows=lambda c: [c.side.cohort.name],
    ),
    Case(
        "cohorts:settings",
        "post",
        TEACHERS_POST,
        args=_cohort,
        data=lambda c: {"action": "rename", "name": c.side.cohort.name},
    ),
    Case(
        "cohorts:dashboard",
        "get",
        TEACHERS,
        args=_cohort,
        shows=lambda c: [
            c.side.cohort.name,
            c.side.learner.username,
            f"HIDDEN-CHECK-{c.side.key.upper()}",
        ],
    ),
    Case(
        "cohorts:roster",
        "get",
        TEACHERS,
        args=_cohort,
        shows=lambda c: [c.side.learner.username, c.side.invite_code],
    ),
    Case(
        "cohorts:roster",
        "post",
        TEACHERS_POST,
        args=_cohort,
        data=lambda c: {"action": "invite", "invite-days": 3},
    ),
    Case(
        "cohorts:assignments",
        "get",
        TEACHERS,
        args=_cohort,
        shows=lambda c: [c.side.cohort.name, c.world.lab.title],
    ),
    Case(
        "cohorts:assignments",
        "post",
        TEACHERS_POST,
        args=_cohort,
        data=lambda c: {
            "action": "settings",
            "settings-name": c.side.cohort.name,
            "settings-score_policy": "best",
            "settings-inactive_days": 7,
            "settings-stuck_attempts": 8,
            "settings-behind_labs": 2,
        },
    ),
    Case(
        "cohorts:learner",
        "get",
        TEACHERS,
        args=lambda c: [c.side.cohort.pk, c.side.learner.pk],
        shows=lambda c: [c.side.learner.username, *_submission_shows(c)],
    ),
    Case(
        "cohorts:learner",
        "get",
        "L 404 404 404 404 404",
        args=lambda c: [c.side.cohort.pk, c.other.learner.pk],
        label="of another cohort",
    ),
    Case(
        "cohorts:gradebook_csv",
        "get",
        TEACHERS,
        args=_cohort,
        shows=lambda c: [c.side.learner.username],
    ),
    Case(
        "cohorts:results_json",
        "get",
        TEACHERS,
        args=_cohort,
        shows=lambda c: [c.side.learner.username, f"HIDDEN-OUTPUT-{c.side.key.upper()}"],
    ),
    Case("cohorts:regrade_create", "get", GET_ONLY, args=_cohort),
    Case(
        "cohorts:regrade_create",
        "post",
        TEACHERS_POST,
        args=_cohort,
        data=lambda c: {"lab": c.world.lab.slug},
    ),
    Case(
        "cohorts:regrade_create",
        "post",
        "L 404 404 404 404 404",
        args=_cohort,
        data=lambda c: {"lab": c.world.lab.slug, "submission": c.other.submission.pk},
        label="of another cohort's submission",
    ),
    Case(
        "cohorts:regrade_detail",
        "get",
        TEACHERS,
        args=_regrade,
        shows=lambda c: [c.side.learner.username],
    ),
    Case(
        "cohorts:regrade_detail",
        "get",
        "L 404 404 404 404 404",
        args=lambda c: [c.side.cohort.pk, c.other.regrade.pk],
        label="of another cohort",
    ),
    Case("cohorts:regrade_apply", "get", GET_ONLY, args=_regrade),
    Case("cohorts:regrade_apply", "post", TEACHERS_POST, args=_regrade),
    Case("cohorts:regrade_discard", "get", GET_ONLY, args=_regrade),
    Case("cohorts:regrade_discard", "post", TEACHERS_POST, args=_regrade),
]


def person(world, side, role: str):
    """The user behind a role for one side's objects (None for anonymous)."""
    other = world.other(side)
    return {
        "anon": None,
        "learner": side.learner,
        "peer": other.learner,
        "teacher": side.teacher,
        "stranger": other.teacher,
        "admin": world.admin,
    }[role]


def send(client, case: Case, ctx: Ctx, **extra):
    """Make the case's request as ctx.user: a session for pages, a token for the API."""
    if ctx.user is not None:
        if case.api:
            extra.setdefault("HTTP_AUTHORIZATION", f"Bearer {ctx.world.keys[ctx.user.pk]}")
        else:
            client.force_login(ctx.user)
    url = reverse(case.route, args=case.args(ctx))
    return getattr(client, case.method)(url, case.data(ctx), **extra)


def body(response) -> str:
    """Everything a response says, as text: streamed bodies joined, zips unpacked."""
    content = b"".join(response.streaming_content) if response.streaming else response.content
    if response.get("Content-Type") == "application/zip":
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            content = b"\n".join(
                info.filename.encode() + b"\n" + archive.read(info) for info in archive.infolist()
            )
    return content.decode("utf-8", errors="replace")
