"""`labs grade`: a learner's folder or zip graded in the real sandbox as a submission."""

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from catalog.labfiles import load_lab
from grading.labgrade import learner_files
from tests.conftest import ROOT, write_lab

# A visible check on the program's output, a hidden one on the handed-in note; the seed
# the checker got is in the first check's output. The learner run's 15 s (under the
# scratch lab's 20 s) is there for a hang only.
CHECKER = """
    import os
    from downstack_harness import Grader

    g = Grader()
    said = g.run_learner(["python3", "main.py"], timeout_s=15).stdout.decode().strip()
    seed = os.environ.get("DOWNSTACK_SEED", "none")
    g.check("prints solution", said == "solution", output=f"printed {said!r}; seed={seed}")
    note = g.submission_file("note.txt")
    g.check("note says hello", note == b"hello\\n", max_score=2, visibility="hidden")
    g.emit()
"""
SEEDED = "\n[grader]\nseeded = true\ncheck_seed = 7\n"
SOLUTION = {"main.py": b"print('solution')\n", "note.txt": b"hello\n"}


@pytest.fixture
def lab(labs_dir):
    return write_lab(labs_dir, "graded", CHECKER, submit=("main.py", "note.txt"), extra_toml=SEEDED)


def folder_of(path: Path, files: dict[str, bytes]) -> Path:
    path.mkdir()
    for name, data in files.items():
        (path / name).write_bytes(data)
    return path


def zip_of(path: Path, files: dict[str, bytes], *, folder: str = "") -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(folder + name, data)
    return path


def grade(*args) -> tuple[int, str]:
    """(exit code, stdout) of `labs grade`, called in this process."""
    out = io.StringIO()
    try:
        call_command("labs", "grade", *map(str, args), stdout=out)
    except CommandError as exc:
        return exc.returncode, out.getvalue() + str(exc)
    return 0, out.getvalue()


@pytest.mark.docker
def test_a_folder_and_a_zip_of_the_same_files_grade_the_same(lab, tmp_path, grader_image):
    folder = folder_of(tmp_path / "work", SOLUTION)
    archive = zip_of(tmp_path / "work.zip", SOLUTION, folder="graded/")

    code_folder, from_folder = grade("graded", folder, "--json")
    code_zip, from_zip = grade("graded", archive, "--json")

    assert code_folder == code_zip == 0
    folder_result, zip_result = json.loads(from_folder), json.loads(from_zip)
    assert folder_result["passed"] and zip_result["passed"]
    for key in ("status", "score", "max_score", "feedback", "tests", "hidden_tests"):
        assert folder_result[key] == zip_result[key], key
    assert [t["name"] for t in folder_result["tests"]] == ["prints solution", "note says hello"]
    assert folder_result["tests"][1]["visibility"] == "hidden"
    assert folder_result["score"] == folder_result["max_score"] == 3
    assert set(folder_result["run"]) >= {
        "exit_code",
        "duration_s",
        "peak_memory_bytes",
        "timed_out",
        "oom_killed",
        "output_truncated",
        "image",
    }


@pytest.mark.docker
def test_a_folder_lacking_files_gets_the_starters_and_extra_files_are_ignored(
    lab, tmp_path, grader_image
):
    folder = folder_of(
        tmp_path / "work", {"main.py": SOLUTION["main.py"], "sample.log": b"not handed in\n"}
    )
    (folder / "__pycache__").mkdir()

    code, out = grade("graded", folder)

    assert code == 1
    assert "submitted: main.py" in out
    assert "filled in from the starter: note.txt" in out
    assert "ignored (not files this lab takes): __pycache__/, sample.log" in out
    assert "Score: 1 / 3  (not full marks)" in out
    assert "✓ [visible] prints solution  (1/1)" in out
    assert "printed 'solution'; seed=7" in out  # the lab's check_seed
    assert "✗ [hidden] note says hello  (0/2)" in out
    assert "Sandbox: exit code 0, " in out
    assert "timed out no, OOM no, output truncated no" in out
    assert "Image: downstack/grader-python:" in out
    assert "graded 1 / 3: not full marks" in out


def test_a_diff_in_a_folder_is_applied_to_the_bases_file_as_a_variants_is(lab, tmp_path):
    diff = "--- starter/main.py\n+++ main.py\n@@ -1 +1 @@\n-print('starter')\n+print('solution')\n"
    folder = folder_of(tmp_path / "work", {"main.py.diff": diff.encode(), "note.txt": b"hi\n"})
    files = learner_files(load_lab(lab), folder)
    assert files.files == {"main.py": SOLUTION["main.py"], "note.txt": b"hi\n"}
    assert files.given == ("main.py", "note.txt") and files.ignored == ()

    (folder / "main.py.diff").write_text(diff.replace("-print('starter')", "-print('other')"))
    code, out = grade("graded", folder)
    assert code == 2
    assert "main.py.diff does not apply: hunk 1 does not fit at line 1" in out


@pytest.mark.docker
def test_seed_option_sets_the_checkers_seed(lab, tmp_path, grader_image):
    folder = folder_of(tmp_path / "work", SOLUTION)
    code, out = grade("graded", folder, "--seed", "42")
    assert code == 0
    assert "graded: grading" in out and "(seed 42)" in out
    assert "seed=42" in out


def test_a_zip_is_refused_as_the_upload_form_refuses_it(lab, tmp_path):
    archive = zip_of(tmp_path / "work.zip", {**SOLUTION, "sample.log": b"extra\n"})
    code, out = grade("graded", archive)
    assert code == 2
    assert (
        "The zip holds sample.log, which this lab does not take; it takes main.py, note.txt." in out
    )

    partial = zip_of(tmp_path / "partial.zip", {"main.py": SOLUTION["main.py"]})
    code, out = grade("graded", partial)
    assert code == 2
    assert "Missing file: note.txt." in out


def test_files_the_platform_would_refuse_are_a_usage_error(lab, tmp_path):
    folder = folder_of(tmp_path / "work", {"main.py": b"", "note.txt": b"hello\n"})
    code, out = grade("graded", folder)
    assert code == 2
    assert "main.py is empty." in out


def test_unknown_lab_and_missing_source_are_usage_errors(lab, tmp_path):
    assert grade("nope", tmp_path) == (2, f"no lab named 'nope' under {lab.parent}")
    code, out = grade("graded", tmp_path / "missing")
    assert code == 2 and "does not exist" in out


@pytest.mark.docker
def test_a_grader_error_is_could_not_be_graded(labs_dir, tmp_path, grader_image):
    write_lab(labs_dir, "broken", "import sys\nprint('checker crashed', file=sys.stderr)\n")
    folder = folder_of(tmp_path / "work", {"main.py": b"print('solution')\n"})
    code, out = grade("broken", folder)
    assert code == 3
    assert "Could not be graded: grader error:" in out
    assert "checker crashed" in out  # the checker's stderr, for the lab's author


@pytest.mark.docker
@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("solution", 0),
        ("starter", 1),
        ("unknown-lab", 2),
        ("broken-checker", 3),
        ("docker-unavailable", 3),
    ],
)
def test_exit_codes_of_the_command(case, expected, lab, labs_dir, tmp_path, grader_image):
    write_lab(labs_dir, "broken", "raise SystemExit(1)\n")
    files = dict(SOLUTION) if case != "starter" else {"main.py": b"print('starter')\n"}
    folder = folder_of(tmp_path / "work", files)
    slug = {"unknown-lab": "nope", "broken-checker": "broken"}.get(case, "graded")
    env = {**os.environ, "LABS_DIR": str(labs_dir)}
    if case == "docker-unavailable":
        env["DOCKER_HOST"] = f"unix://{tmp_path}/no-docker.sock"
    done = subprocess.run(
        [sys.executable, "manage.py", "labs", "grade", slug, str(folder)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == expected, done.stdout + done.stderr
