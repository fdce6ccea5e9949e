"""Shared fixtures: users, the synced hello-sandbox lab, a scratch lab, the grader image,
the browser."""

import os
import shutil
import textwrap
from pathlib import Path

import pytest
from django.conf import settings as django_settings

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def make_user(django_user_model):
    def make(username, *, staff=False):
        return django_user_model.objects.create_user(
            username=username, password=f"{username}-password", is_staff=staff
        )

    return make


@pytest.fixture
def learner(make_user):
    return make_user("ada")


@pytest.fixture
def other_learner(make_user):
    return make_user("linus")


@pytest.fixture
def staff(make_user):
    return make_user("grace", staff=True)


@pytest.fixture
def labs_dir(tmp_path, settings):
    """An empty labs folder that settings.LABS_DIR points at."""
    path = tmp_path / "labs"
    path.mkdir()
    settings.LABS_DIR = path
    return path


@pytest.fixture
def hello_lab(db, labs_dir):
    """hello-sandbox, copied from the repository and synced into the database."""
    from catalog.models import Lab
    from catalog.sync import labs_sync

    shutil.copytree(ROOT / "labs" / "hello-sandbox", labs_dir / "hello-sandbox")
    labs_sync(root=labs_dir)
    return Lab.objects.get(slug="hello-sandbox")


def write_lab(
    root: Path, slug: str, checker: str, *, submit=("main.py",), extra_toml="", timeout_s=20
) -> Path:
    """A minimal valid lab whose checker is the given Python source."""
    path = root / slug
    for part in ("starter", "solution", "grader"):
        (path / part).mkdir(parents=True, exist_ok=True)
    for name in submit:
        (path / "starter" / name).write_text("print('starter')\n")
        (path / "solution" / name).write_text("print('solution')\n")
    (path / "grader" / "check.py").write_text(textwrap.dedent(checker))
    (path / "README.md").write_text(f"# {slug}\n\nDo the thing.\n")
    submit_list = ", ".join(f'"{n}"' for n in submit)
    (path / "lab.toml").write_text(
        textwrap.dedent(
            f"""\
            title = "Lab {slug}"
            summary = "A lab for tests."
            skills = ["testing"]
            difficulty = "intro"
            minutes = 5
            submit = [{submit_list}]

            [limits]
            timeout_s = {timeout_s}
            memory_mb = 128
            """
        )
        + extra_toml
    )
    return path


@pytest.fixture
def scratch_lab(db, labs_dir):
    """Factory: a synced lab with a custom checker."""
    from catalog.models import Lab
    from catalog.sync import labs_sync

    def make(slug, checker, **kwargs):
        write_lab(labs_dir, slug, checker, **kwargs)
        report = labs_sync(root=labs_dir)
        assert not report.errors, report.errors
        return Lab.objects.get(slug=slug)

    return make


@pytest.fixture
def make_regrade(db):
    """Factory: a regrade of `lab` in a cohort of its own, to hang GradeRun rows on."""
    from cohorts.models import Cohort, Regrade

    def make(lab):
        return Regrade.objects.create(cohort=Cohort.objects.create(name="Regraders"), lab=lab)

    return make


@pytest.fixture(scope="session")
def grader_image():
    """The content-tagged python grader image; every family is built (offline, cached)
    when missing, since labs pick their own."""
    from graders.images import builder, image_tag

    builder.build_all(source="offline")
    return image_tag("python")


@pytest.fixture
def start_worker(transactional_db, tmp_path, settings):
    """Start a worker process (optionally with extra env); stopped at the end of the test."""
    from tests.worker_process import Worker

    settings.MEDIA_ROOT = str(tmp_path / "media")
    workers = []

    def start(queues="grading", beat=False, **extra_env):
        log = tmp_path / f"worker-{len(workers)}.log"
        worker = Worker(log, extra_env, queues=queues, beat=beat)
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()


def pytest_report_header(config):
    db = django_settings.DATABASES["default"]
    return (
        f"database: {db['ENGINE'].rsplit('.', 1)[-1]}; broker: {django_settings.CELERY_BROKER_URL}"
    )


# The browser tests share Debian's Chromium, driven by Playwright (never a browser
# Playwright downloads).
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="module")
def browser():
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make host` to install Debian's chromium")
    # Playwright's sync API runs an event loop in this thread; the ORM calls made by
    # fixtures here are still synchronous and safe. Only while the browser is open: a
    # later test's subprocess must not inherit it.
    with pytest.MonkeyPatch.context() as patch, playwright_api.sync_playwright() as p:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()
