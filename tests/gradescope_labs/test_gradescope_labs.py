"""Unmodified Gradescope autograders as labs, for real: `labs import-gradescope` builds
each one's image (setup.sh reaching the package mirrors), `labs check` proves the lab,
and a real worker grades answers in the sandbox with the scores Gradescope's rules give.
"""

from __future__ import annotations

import io
import shutil
import tomllib
from collections.abc import Iterator
from pathlib import Path

import docker
import docker.errors
import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from catalog.labfiles import load_lab
from catalog.models import Lab
from catalog.sync import labs_sync
from graders.images import gradescope as gradescope_images
from grading.intake import submission_create
from grading.models import Submission
from tests.autograders import autograder_zip, folder_files, import_command
from tests.worker_process import finished, wait_for

HERE = Path(__file__).resolve().parent
AUTOGRADERS = HERE / "autograders"
ANSWERS = HERE / "answers"
SUITE = HERE.parent / "graders" / "gradescope"  # the suite and answers gradescope-utils ran

pytestmark = pytest.mark.docker


def make_zip(folder: Path, target: Path, *, extra: dict[str, bytes] | None = None) -> Path:
    """Zip an autograder folder as an instructor would: run_autograder executable."""
    target.write_bytes(autograder_zip({**folder_files(folder), **(extra or {})}))
    return target


def python_zip(target: Path, **kwargs) -> Path:
    suite = {"tests/test_solution.py": (SUITE / "suite.py").read_bytes()}
    return make_zip(AUTOGRADERS / "python-unittest", target, extra=suite, **kwargs)


def import_lab(labs: Path, zip_path: Path, slug: str, answer: Path, *args: str) -> str:
    with override_settings(LABS_DIR=labs):
        title = slug.replace("-", " ").title()
        return import_command(zip_path, slug=slug, title=title, solution=answer, args=args)


def check_lab(labs: Path, slug: str) -> str:
    out = io.StringIO()
    with override_settings(LABS_DIR=labs):
        call_command("labs", "check", slug, stdout=out)
    return out.getvalue()


@pytest.fixture(scope="module")
def imported(tmp_path_factory) -> Path:
    """Both autograders imported (and their images built) into one labs folder."""
    labs = tmp_path_factory.mktemp("imported") / "labs"
    labs.mkdir()
    zips = tmp_path_factory.mktemp("zips")
    output = import_lab(
        labs,
        python_zip(zips / "python.zip"),
        "gradescope-python",
        SUITE / "solutions" / "correct",
    )
    # Built here, or kept from an earlier run of the same files (the tag is their content).
    assert "Successfully installed gradescope-utils-0.5.0" in output or "reusing it" in output
    import_lab(
        labs,
        make_zip(AUTOGRADERS / "c-diff", zips / "c.zip"),
        "gradescope-c",
        ANSWERS / "c" / "correct",
    )
    return labs


def test_the_import_records_the_zip_and_gradescope_s_defaults(imported: Path) -> None:
    spec = load_lab(imported / "gradescope-python")
    toml = tomllib.loads((spec.path / "lab.toml").read_text())

    assert spec.dialect == "gradescope"
    assert spec.submit == ("solution.py",)
    assert (spec.timeout_s, spec.memory_mb, spec.cpus) == (600, 768, 0.5)
    assert len(toml["gradescope"]["zip_sha256"]) == 64
    assert (spec.path / "grader" / "setup.sh").is_file()
    assert (spec.path / "grader" / "tests" / "test_solution.py").is_file()
    assert (spec.path / "starter" / "solution.py").read_bytes() == b""
    assert spec.image.startswith(gradescope_images.REPOSITORY_PREFIX)
    assert docker.from_env().images.get(spec.image)


def test_labs_check_proves_both_imported_labs(imported: Path) -> None:
    # The instructor's next step: declare wrong answers as variants, with their scores.
    python = imported / "gradescope-python"
    for name in ("wrong", "crashing"):
        shutil.copytree(SUITE / "solutions" / name, python / "variants" / name)
    with (python / "lab.toml").open("a") as toml:
        toml.write(
            '\n[variants.wrong]\nbase = "solution"\nmin_score = 5\nmax_score = 5\n'
            '\n[variants.crashing]\nbase = "solution"\nmin_score = 4\nmax_score = 4\n'
        )

    python_report = check_lab(imported, "gradescope-python")
    c_report = check_lab(imported, "gradescope-c")

    assert "labs check passed" in python_report
    assert "variant wrong" in python_report and "variant crashing" in python_report
    assert "labs check passed" in c_report


@pytest.fixture
def synced(imported: Path, labs_dir: Path, db) -> Iterator[dict[str, Lab]]:
    for slug in ("gradescope-python", "gradescope-c"):
        shutil.copytree(imported / slug, labs_dir / slug, ignore=shutil.ignore_patterns("variants"))
        toml = labs_dir / slug / "lab.toml"
        text = toml.read_text().split("\n[variants.", 1)[0]
        # The C lab's hanging answer needs no ten minutes to show what a time-out keeps.
        toml.write_text(text.replace("timeout_s = 600", "timeout_s = 20") if "-c" in slug else text)
    report = labs_sync(root=labs_dir)
    assert not report.errors, report.errors
    yield {lab.slug: lab for lab in Lab.objects.all()}


def grade(learner, lab: Lab, files: dict[str, bytes]) -> Submission:
    return submission_create(user=learner, lab=lab, files=files)


def checks_of(submission: Submission) -> list[tuple[str, float, float, str, str]]:
    return [
        (t.name, t.score, t.max_score, t.status, t.visibility)
        for t in submission.tests.order_by("position")
    ]


@pytest.mark.worker
def test_a_real_worker_grades_python_answers_as_gradescope_would(
    synced, learner, start_worker
) -> None:
    lab = synced["gradescope-python"]
    worker = start_worker()
    sent = {
        name: grade(
            learner, lab, {"solution.py": (SUITE / "solutions" / name / "solution.py").read_bytes()}
        )
        for name in ("correct", "wrong", "crashing")
    }
    graded = {name: wait_for(finished(s.pk), timeout=180) for name, s in sent.items()}

    scores = {name: (s.status, s.score, s.max_score) for name, s in graded.items()}
    assert scores == {
        "correct": ("graded", 10, 10),
        "wrong": ("graded", 5, 10),
        "crashing": ("graded", 4, 10),
    }, worker.output()[-3000:]
    # gradescope-utils' own documents for these answers (tests/graders/gradescope/results)
    # give the same: JSONTestRunner sorts the tests by name; the one without a weight is
    # informational (0 of 0); visibilities are kept per test.
    assert checks_of(graded["wrong"]) == [
        ("add sums two numbers", 2, 2, "passed", "visible"),
        ("every function has a docstring (no points)", 0, 0, "failed", "visible"),
        ("mean of a list", 0, 3, "failed", "after_due_date"),
        ("mean of a single value", 1, 1, "passed", "hidden"),
        ("shout, one point per case", 2, 4, "failed", "visible"),
    ]


@pytest.mark.worker
def test_a_real_worker_grades_c_answers_by_diff_and_keeps_partial_credit_at_the_time_limit(
    synced, learner, start_worker
) -> None:
    lab = synced["gradescope-c"]
    worker = start_worker()
    sent = {
        name: grade(learner, lab, {"wc.c": (ANSWERS / "c" / name / "wc.c").read_bytes()})
        for name in ("correct", "wrong", "broken", "hangs")
    }
    graded = {name: wait_for(finished(s.pk), timeout=180) for name, s in sent.items()}

    scores = {name: (s.status, s.score, s.max_score) for name, s in graded.items()}
    assert scores == {
        "correct": ("graded", 10, 10),
        "wrong": ("graded", 7, 10),
        "broken": ("graded", 0, 10),
        # Gradescope scores a run past its limit 0; the two cases done before it stand.
        "hangs": ("graded", 3, 10),
    }, worker.output()[-3000:]
    wrong = graded["wrong"].tests.get(name="case spaces-and-tabs")
    assert wrong.score == 0 and "-2 5 28" in wrong.output and "+2 4 28" in wrong.output
    broken = graded["broken"].tests.get()
    assert broken.name == "wc.c compiles" and "expected" in broken.output  # cc's own message
    hangs = graded["hangs"]
    assert hangs.timed_out
    assert "20 s" in hangs.status_detail and "written before then are scored" in hangs.status_detail
    assert [t[0] for t in checks_of(hangs)] == ["case one-line", "case empty"]


def test_a_failing_setup_sh_is_shown_and_leaves_no_lab_and_no_image(
    tmp_path: Path, labs_dir: Path
) -> None:
    zip_path = make_zip(AUTOGRADERS / "failing-setup", tmp_path / "failing.zip")
    answer = tmp_path / "answer"
    answer.mkdir()
    (answer / "main.py").write_text("print('hi')\n")
    client = docker.from_env()

    with pytest.raises(CommandError) as caught:
        import_lab(labs_dir, zip_path, "failing-setup", answer)

    message = str(caught.value)
    assert "setup.sh failed with exit status 1" in message
    assert "downstack-no-such-package-exists" in message  # pip's own words, from the log
    assert list(labs_dir.iterdir()) == []  # no lab folder, not even the hidden work one
    tag = message.split("Building ", 1)[1].split(" failed", 1)[0]
    with pytest.raises(docker.errors.ImageNotFound):
        client.images.get(tag)
    assert not client.containers.list(
        all=True, filters={"label": f"{gradescope_images.LABEL}={tag}"}
    )
