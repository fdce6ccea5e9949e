"""`labs import-gradescope` refusals and the folder it writes, without building an image
(tests/gradescope_labs builds and grades for real)."""

import tomllib
from pathlib import Path

import pytest
from django.core.management import CommandError

from catalog.labfiles import load_lab
from tests.autograders import autograder_zip, import_command

RUN_AUTOGRADER = b"#!/bin/bash\necho '{\"score\": 1}' > /autograder/results/results.json\n"


def write_zip(path: Path, files: dict[str, bytes]) -> Path:
    path.write_bytes(autograder_zip(files, executable=()))  # zipped without execute bits
    return path


@pytest.fixture
def answer(tmp_path: Path) -> Path:
    folder = tmp_path / "answer"
    folder.mkdir()
    (folder / "main.py").write_text("print('answer')\n")
    (folder / "util.py").write_text("X = 1\n")
    return folder


def run_import(zip_path: Path, answer: Path, *extra: str, slug: str = "imported") -> str:
    return import_command(
        zip_path,
        slug=slug,
        title="An imported autograder",
        solution=answer,
        args=("--no-build", *extra),
    )


def test_a_zip_without_run_autograder_is_refused_by_name_and_writes_nothing(
    tmp_path: Path, labs_dir: Path, answer: Path
) -> None:
    zip_path = write_zip(tmp_path / "a.zip", {"setup.sh": b"true\n"})

    with pytest.raises(CommandError, match="run_autograder"):
        run_import(zip_path, answer)

    assert list(labs_dir.iterdir()) == []


def test_a_zip_inside_one_folder_names_the_folder_and_imports_with_it_stripped(
    tmp_path: Path, labs_dir: Path, answer: Path
) -> None:
    zip_path = write_zip(
        tmp_path / "a.zip",
        {"hw1/setup.sh": b"true\n", "hw1/run_autograder": RUN_AUTOGRADER},
    )
    with pytest.raises(CommandError) as caught:
        run_import(zip_path, answer)
    assert "hw1/" in str(caught.value) and "--strip-top-folder" in str(caught.value)
    assert list(labs_dir.iterdir()) == []

    output = run_import(zip_path, answer, "--strip-top-folder")

    assert "unpacked from its folder hw1/" in output
    assert "labs build-images imported" in output  # --no-build: the next step says so
    spec = load_lab(labs_dir / "imported")
    assert spec.dialect == "gradescope"
    assert spec.submit == ("main.py", "util.py")
    assert (spec.path / "grader" / "run_autograder").stat().st_mode & 0o777 == 0o644
    assert (spec.path / "starter" / "main.py").read_bytes() == b""
    assert (spec.path / "solution" / "util.py").read_text() == "X = 1\n"
    toml = tomllib.loads((spec.path / "lab.toml").read_text())
    assert toml["limits"] == {
        "timeout_s": 600,
        "memory_mb": 768,
        "cpus": 0.5,
        "pids": 256,
        "scratch_mb": 256,
    }


def test_a_starter_must_hold_the_answer_s_files_and_a_taken_slug_is_refused(
    tmp_path: Path, labs_dir: Path, answer: Path
) -> None:
    zip_path = write_zip(
        tmp_path / "a.zip", {"setup.sh": b"true\n", "run_autograder": RUN_AUTOGRADER}
    )
    starter = tmp_path / "starter"
    starter.mkdir()
    (starter / "main.py").write_text("# start here\n")

    with pytest.raises(CommandError, match="same files as the answer"):
        run_import(zip_path, answer, "--starter", str(starter))
    (starter / "util.py").write_text("X = 0\n")
    run_import(zip_path, answer, "--starter", str(starter))
    with pytest.raises(CommandError, match="already exists"):
        run_import(zip_path, answer, "--starter", str(starter))

    assert (labs_dir / "imported" / "starter" / "main.py").read_text() == "# start here\n"
    assert sorted(p.name for p in labs_dir.iterdir()) == ["imported"]


def test_an_answer_with_a_folder_in_it_is_refused(
    tmp_path: Path, labs_dir: Path, answer: Path
) -> None:
    zip_path = write_zip(
        tmp_path / "a.zip", {"setup.sh": b"true\n", "run_autograder": RUN_AUTOGRADER}
    )
    (answer / "pkg").mkdir()

    with pytest.raises(CommandError, match="pkg is not a plain file"):
        run_import(zip_path, answer)
