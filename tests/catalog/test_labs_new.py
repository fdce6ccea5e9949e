"""`labs new`: a scaffold that passes `labs check` and its own unit tests as created."""

import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

from tests.conftest import ROOT

CHECKER_TEST = "tests/labs/test_demo_lab_checker.py"


@pytest.fixture
def demo_lab(labs_dir, capsys):
    call_command("labs", "new", "demo-lab")
    return labs_dir / "demo-lab", capsys.readouterr().out


def test_new_lab_prints_what_it_created_and_the_next_commands(demo_lab, labs_dir):
    path, out = demo_lab
    for name in (
        "lab.toml",
        "README.md",
        "starter/p99.py",
        "solution/p99.py",
        "grader/check.py",
        "variants/replay-visible/p99.py",
    ):
        assert (path / name).is_file()
        assert f"created {path / name}" in out
    assert f"created {labs_dir.parent / CHECKER_TEST}" in out
    assert "manage.py labs check demo-lab --runs 3" in out
    assert "manage.py labs grade demo-lab" in out


def test_new_labs_readme_has_the_sections_a_lab_needs(demo_lab):
    path, _ = demo_lab
    readme = (path / "README.md").read_text()
    for heading in ("## What you get", "## What to hand in", "## How it is scored"):
        assert heading in readme
    assert "[variants.replay-visible]\nbase = " in (path / "lab.toml").read_text()


@pytest.mark.docker
def test_new_lab_passes_labs_check(demo_lab, capsys, grader_image):
    call_command("labs", "check", "demo-lab", "--runs", "3")
    out = capsys.readouterr().out
    assert "labs check passed (1 lab(s))" in out
    assert "variant replay-visible" in out


def test_new_labs_checker_tests_pass_as_generated(demo_lab, labs_dir):
    root = labs_dir.parent
    (root / "pytest.ini").write_text("[pytest]\n")  # keeps this repository's settings out
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:django"]
        + ["-rs", CHECKER_TEST],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert " passed" in done.stdout and "skipped" not in done.stdout


def test_new_lab_is_lint_clean(demo_lab, labs_dir):
    root = labs_dir.parent
    config = str(ROOT / "pyproject.toml")
    # labs/ may print (it is learner code); the repository's settings say so by path.
    lint = [sys.executable, "-m", "ruff", "check", "--config", config, "--ignore", "T20", "."]
    form = [sys.executable, "-m", "ruff", "format", "--config", config, "--check", "."]
    for command in (lint, form):
        done = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr


def test_new_refuses_a_slug_that_is_taken(labs_dir):
    (labs_dir / "taken").mkdir()
    with pytest.raises(CommandError, match="taken already exists; choose another slug"):
        call_command("labs", "new", "taken")

    (labs_dir.parent / "tests" / "labs").mkdir(parents=True)
    (labs_dir.parent / "tests" / "labs" / "test_other_lab_checker.py").write_text("")
    with pytest.raises(CommandError, match="test_other_lab_checker.py already exists"):
        call_command("labs", "new", "other-lab")
    assert not (labs_dir / "other-lab").exists()


@pytest.mark.parametrize("slug", ["Demo", "demo_lab", "démo", "x", "demo lab"])
def test_new_refuses_an_invalid_slug(labs_dir, slug):
    with pytest.raises(CommandError, match="is not a lab slug: use 2 to 63 lower-case"):
        call_command("labs", "new", slug)
    assert list(labs_dir.iterdir()) == []


def test_new_refuses_a_title_the_lab_format_would_refuse(labs_dir):
    with pytest.raises(CommandError, match="title: must be at most 120 characters"):
        call_command("labs", "new", "long-title", "--title", "x" * 121)
    assert not (labs_dir / "long-title").exists()
    assert not (labs_dir.parent / "tests" / "labs" / "test_long_title_checker.py").exists()
