"""Reading lab folders: the real labs load, malformed ones name the file and the field."""

from pathlib import Path

import pytest

from catalog.labfiles import LabFormatError, load_lab
from tests.conftest import write_lab

ROOT = Path(__file__).resolve().parents[2]


def test_every_lab_in_the_repository_loads():
    for path in sorted((ROOT / "labs").iterdir()):
        spec = load_lab(path)
        assert spec.slug == path.name
        assert spec.submit


def test_hello_sandbox_declares_at_least_three_variants_including_the_cheats():
    spec = load_lab(ROOT / "labs" / "hello-sandbox")
    names = {v.name for v in spec.variants}
    assert len(names) >= 3
    assert {"read-hidden-tests", "forge-result"} <= names


def test_sample_log_given_to_learners_is_the_one_the_checker_grades():
    lab = ROOT / "labs" / "hello-sandbox"
    assert (lab / "starter" / "sample.log").read_bytes() == (
        lab / "grader" / "sample.log"
    ).read_bytes()


BROKEN = [
    ('difficulty = "intro"', 'difficulty = "easy"', "lab.toml", "difficulty"),
    ("minutes = 5", 'minutes = "five"', "lab.toml", "minutes"),
    ("minutes = 5", 'minutes = 5\ncolour = "red"', "lab.toml", "colour"),
    ('submit = ["main.py"]', 'submit = ["../main.py"]', "lab.toml", "submit"),
    ('submit = ["main.py"]', "submit = []", "lab.toml", "submit"),
    ("memory_mb = 128", "memory_mb = 1", "lab.toml", "limits.memory_mb"),
    ('title = "Lab broken"', "", "lab.toml", "title"),
    (
        "timeout_s = 20",
        "timeout_s = 20\n[variants.ghost]\nmin_score = 0\nmax_score = 1",
        "variants/ghost",
        "variants.ghost",
    ),
]


@pytest.mark.parametrize(("old", "new", "file", "field"), BROKEN)
def test_malformed_lab_error_names_the_file_and_the_field(tmp_path, old, new, file, field):
    path = write_lab(tmp_path, "broken", "print(1)\n")
    toml = path / "lab.toml"
    assert old in toml.read_text()
    toml.write_text(toml.read_text().replace(old, new))
    with pytest.raises(LabFormatError) as caught:
        load_lab(path)
    assert caught.value.field == field
    assert str(caught.value.path).endswith(file)
    assert file in str(caught.value) and field in str(caught.value)


def test_invalid_toml_is_reported_with_the_parser_message(tmp_path):
    path = write_lab(tmp_path, "broken", "print(1)\n")
    (path / "lab.toml").write_text("title = \n")
    with pytest.raises(LabFormatError, match="not valid TOML"):
        load_lab(path)


def test_missing_submit_file_in_solution_is_named(tmp_path):
    path = write_lab(tmp_path, "broken", "print(1)\n")
    (path / "solution" / "main.py").unlink()
    with pytest.raises(LabFormatError, match=r"solution/ must contain main.py"):
        load_lab(path)


def test_undeclared_variant_folder_is_rejected(tmp_path):
    path = write_lab(tmp_path, "broken", "print(1)\n")
    (path / "variants" / "sneaky").mkdir(parents=True)
    with pytest.raises(LabFormatError, match="not declared"):
        load_lab(path)


def test_content_hash_changes_with_any_file(tmp_path):
    path = write_lab(tmp_path, "lab-a", "print(1)\n")
    before = load_lab(path).content_hash
    (path / "grader" / "data.txt").write_text("x")
    assert load_lab(path).content_hash != before
