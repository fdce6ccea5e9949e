"""Reading lab folders: the real labs load, malformed ones name the file and the field."""

from pathlib import Path

import pytest

from catalog.labfiles import LabFormatError, load_lab
from catalog.sandbox import sandbox_options
from graders import Limits
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


BROKEN = [
    ('difficulty = "intro"', 'difficulty = "easy"', "lab.toml", "difficulty"),
    ("minutes = 5", 'minutes = "five"', "lab.toml", "minutes"),
    ("minutes = 5", 'minutes = 5\ncolour = "red"', "lab.toml", "colour"),
    ('submit = ["main.py"]', 'submit = ["../main.py"]', "lab.toml", "submit"),
    ('submit = ["main.py"]', "submit = []", "lab.toml", "submit"),
    ("memory_mb = 128", "memory_mb = 1", "lab.toml", "limits.memory_mb"),
    ("memory_mb = 128", "memory_mb = 128\nscratch_mb = 0", "lab.toml", "limits.scratch_mb"),
    ('title = "Lab broken"', "", "lab.toml", "title"),
    (
        "timeout_s = 20",
        "timeout_s = 20\n[variants.ghost]\nmin_score = 0\nmax_score = 1",
        "variants/ghost",
        "variants.ghost",
    ),
    (
        "memory_mb = 128",
        'memory_mb = 128\n[grader]\ninclude = ["starter/missing.py"]',
        "starter/missing.py",
        "grader.include",
    ),
    (
        "memory_mb = 128",
        'memory_mb = 128\n[grader]\ninclude = ["grader/check.py"]',
        "lab.toml",
        "grader.include",
    ),
    (
        "memory_mb = 128",
        'memory_mb = 128\n[grader]\nimage = "python-etc"',
        "lab.toml",
        "grader.image",
    ),
    (
        "memory_mb = 128",
        'memory_mb = 128\n[grader]\ninclude = ["starter/../grader/check.py"]',
        "lab.toml",
        "grader.include",
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


def _with_variant(path: Path, name: str, table: str, files: dict[str, str]) -> None:
    (path / "lab.toml").write_text((path / "lab.toml").read_text() + table)
    folder = path / "variants" / name
    folder.mkdir(parents=True)
    for file, text in files.items():
        (folder / file).write_text(text)


def test_a_variant_is_its_bases_files_with_its_own_laid_over(tmp_path):
    path = write_lab(tmp_path, "based", "print(1)\n", submit=("main.py", "notes.txt"))
    table = '\n[variants.one-bug]\nbase = "solution"\nmin_score = 0\nmax_score = 1\n'
    _with_variant(path, "one-bug", table, {"main.py": "print('bug')\n"})
    spec = load_lab(path)
    (variant,) = spec.variants
    assert variant.base == "solution"
    assert spec.variant_files(variant) == {
        "main.py": b"print('bug')\n",
        "notes.txt": b"print('solution')\n",
    }
    assert spec.submitted_files("starter")["main.py"] == b"print('starter')\n"


@pytest.mark.parametrize(
    ("table", "files", "message"),
    [
        ("min_score = 0\nmax_score = 1\n", {"main.py": "x\n"}, "base: is required"),
        ('base = "reference"\nmin_score = 0\nmax_score = 1\n', {"main.py": "x\n"}, "base"),
        (
            'base = "solution"\nmin_score = 0\nmax_score = 1\n',
            {"main.py": "print('solution')\n"},
            "identical to solution/main.py",
        ),
        (
            'base = "starter"\nmin_score = 0\nmax_score = 1\n',
            {"other.py": "x\n"},
            "not a file this lab takes",
        ),
    ],
)
def test_a_variant_needs_a_base_and_only_files_that_differ(tmp_path, table, files, message):
    path = write_lab(tmp_path, "copies", "print(1)\n")
    _with_variant(path, "v", "\n[variants.v]\n" + table, files)
    with pytest.raises(LabFormatError, match=message):
        load_lab(path)


DIFF = """\
--- solution/main.py
+++ variants/v/main.py
@@ -1 +1 @@
-print('solution')
+print('bug')
"""


def test_a_variant_diff_is_applied_to_its_bases_file(tmp_path):
    path = write_lab(tmp_path, "patched", "print(1)\n")
    _with_variant(path, "v", _BASED, {"main.py.diff": DIFF})
    spec = load_lab(path)
    (variant,) = spec.variants
    assert spec.variant_files(variant) == {"main.py": b"print('bug')\n"}


_BASED = '\n[variants.v]\nbase = "solution"\nmin_score = 0\nmax_score = 1\n'


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (
            {"main.py.diff": DIFF.replace("-print('solution')", "-print('starter')")},
            r"does not apply to solution/main.py: hunk 1 does not fit at line 1",
        ),
        ({"main.py.diff": DIFF.replace("+print('bug')", "+print('solution')")}, "changes nothing"),
        ({"main.py.diff": DIFF, "main.py": "print('bug')\n"}, "keep the file or its diff"),
        ({"main.py.diff": "not a diff\n"}, "expected '---', '\\+\\+\\+' or '@@'"),
        ({"other.py.diff": DIFF}, "not a file this lab takes"),
    ],
)
def test_a_variant_diff_must_apply_and_change_something(tmp_path, files, message):
    path = write_lab(tmp_path, "patched", "print(1)\n")
    _with_variant(path, "v", _BASED, files)
    with pytest.raises(LabFormatError, match=message) as raised:
        load_lab(path)
    assert raised.value.field == "variants.v"


def test_the_checker_gets_grader_files_and_included_ones_under_their_own_paths(tmp_path):
    path = write_lab(tmp_path, "includes", "print(1)\n")
    (path / "starter" / "data").mkdir()
    (path / "starter" / "data" / "trace.log").write_text("trace")
    toml = path / "lab.toml"
    toml.write_text(
        toml.read_text() + '\n[grader]\ninclude = ["starter/data", "solution/main.py"]\n'
    )
    spec = load_lab(path)
    assert spec.checker_files() == {
        "check.py": b"print(1)\n",
        "starter/data/trace.log": b"trace",
        "solution/main.py": b"print('solution')\n",
    }
    before = spec.content_hash
    (path / "starter" / "data" / "trace.log").write_text("changed")
    assert load_lab(path).content_hash != before  # the hash covers what the checker gets


def test_grader_files_may_not_shadow_included_ones(tmp_path):
    path = write_lab(tmp_path, "shadow", "print(1)\n")
    (path / "grader" / "starter").mkdir()
    (path / "grader" / "starter" / "main.py").write_text("print('shadow')\n")
    with pytest.raises(LabFormatError, match="would clash"):
        load_lab(path)


def test_scratch_mb_sizes_the_scratch_space_and_the_largest_file(tmp_path):
    path = write_lab(tmp_path, "scratch", "print(1)\n")
    defaults = sandbox_options(load_lab(path))["limits"]
    assert (defaults.tmpfs_mb, defaults.fsize_mb) == (Limits().tmpfs_mb, Limits().fsize_mb)
    toml = path / "lab.toml"
    toml.write_text(
        toml.read_text().replace("memory_mb = 128", "memory_mb = 128\nscratch_mb = 300")
    )
    limits = sandbox_options(load_lab(path))["limits"]
    assert (limits.tmpfs_mb, limits.fsize_mb) == (300, 300)


def _gradescope_lab(tmp_path: Path, table: str, grader_extra: str = "") -> Path:
    path = write_lab(tmp_path, "imported", "")
    (path / "grader" / "check.py").unlink()
    (path / "grader" / "setup.sh").write_text("true\n")
    (path / "grader" / "run_autograder").write_text("#!/bin/bash\n")
    toml = (path / "lab.toml").read_text()
    if grader_extra:
        toml += f"\n[grader]\n{grader_extra}"
    (path / "lab.toml").write_text(toml + f"\n[gradescope]\n{table}")
    return path


SHA = "ab" * 32


def test_a_gradescope_lab_runs_its_autograder_in_an_image_named_by_its_files(tmp_path):
    from graders.gradescope import GRADESCOPE
    from graders.images import gradescope

    path = _gradescope_lab(tmp_path, f'zip_sha256 = "{SHA}"\n')
    spec = load_lab(path)

    assert spec.dialect == "gradescope" and spec.zip_sha256 == SHA
    assert spec.command == ("/autograder/run_autograder",)
    assert spec.image == gradescope.autograder_tag(path / "grader", gradescope.base_name())
    assert sandbox_options(spec)["dialect"] is GRADESCOPE
    (path / "grader" / "run_autograder").write_text("#!/bin/bash\necho changed\n")
    assert load_lab(path).image != spec.image


@pytest.mark.parametrize(
    "table, grader_extra, field, message",
    [
        ("", "", "gradescope.zip_sha256", "is required"),
        ('zip_sha256 = "abc"\n', "", "gradescope.zip_sha256", "64 lower-case hex"),
        (f'zip_sha256 = "{SHA}"\nbuild_timeout_s = 5\n', "", "gradescope.build_timeout_s", "30"),
        (f'zip_sha256 = "{SHA}"\nimage = "x"\n', "", "gradescope.image", "not a known field"),
        (f'zip_sha256 = "{SHA}"\n', 'command = ["sh"]\n', "grader.command", "does not apply"),
    ],
)
def test_a_gradescope_table_is_validated_like_the_rest(
    tmp_path, table, grader_extra, field, message
):
    path = _gradescope_lab(tmp_path, table, grader_extra)
    with pytest.raises(LabFormatError) as caught:
        load_lab(path)
    assert caught.value.field == field and message in str(caught.value)


def test_a_gradescope_lab_needs_setup_sh_and_run_autograder_in_grader(tmp_path):
    path = _gradescope_lab(tmp_path, f'zip_sha256 = "{SHA}"\n')
    (path / "grader" / "setup.sh").unlink()
    with pytest.raises(LabFormatError, match="setup.sh: gradescope: file is missing"):
        load_lab(path)
