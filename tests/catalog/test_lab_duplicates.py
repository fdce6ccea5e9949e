"""scripts/lab_duplicates.py: byte-identical copies in the labs folder, and the 5% limit."""

import importlib.util
import subprocess
import sys

from tests.conftest import ROOT

SCRIPT = ROOT / "scripts" / "lab_duplicates.py"


def _script():
    spec = importlib.util.spec_from_file_location("lab_duplicates", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


duplicates = _script()


def test_repository_labs_copy_less_than_five_percent_of_their_bytes():
    found = duplicates.measure(ROOT / "labs")
    assert found.share < 0.05, duplicates.report(ROOT / "labs", found)


def test_copies_are_counted_after_the_first_of_each_group(tmp_path):
    for name in ("a/starter/data.txt", "a/grader/data.txt", "b/grader/data.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x" * 100)
    (tmp_path / "a/starter/main.py").write_bytes(b"y" * 40)
    (tmp_path / "a/variants/v/main.py").parent.mkdir(parents=True)
    (tmp_path / "a/variants/v/main.py").write_bytes(b"y" * 40)
    (tmp_path / "a/unique.txt").write_bytes(b"z" * 60)
    (tmp_path / "a/empty1").write_bytes(b"")
    (tmp_path / "b/empty2").write_bytes(b"")
    (tmp_path / "a/grader/__pycache__").mkdir()
    (tmp_path / "a/grader/__pycache__/data.pyc").write_bytes(b"x" * 100)

    found = duplicates.measure(tmp_path)

    assert found.files == 8
    assert found.bytes == 3 * 100 + 2 * 40 + 60
    assert found.copy_files == 3
    assert found.copy_bytes == 2 * 100 + 40
    assert found.share == 240 / 440
    assert found.groups[0].paths == ("a/grader/data.txt", "a/starter/data.txt", "b/grader/data.txt")
    assert found.groups[1].paths == ("a/starter/main.py", "a/variants/v/main.py")


def test_script_fails_at_five_percent_and_names_the_copies(tmp_path):
    (tmp_path / "one.txt").write_bytes(b"x" * 50)
    (tmp_path / "two.txt").write_bytes(b"x" * 50)
    (tmp_path / "big.txt").write_bytes(b"y" * 900)
    copied = subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp_path)], capture_output=True, text=True
    )
    assert copied.returncode == 1
    assert "3 files, 1,000 bytes" in copied.stdout
    assert "1 files, 50 bytes (5.0% of all bytes" in copied.stdout
    assert "one.txt" in copied.stdout and "two.txt" in copied.stdout

    (tmp_path / "two.txt").write_bytes(b"z" * 50)
    clean = subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp_path)], capture_output=True, text=True
    )
    assert clean.returncode == 0
    assert "0 files, 0 bytes (0.0% of all bytes" in clean.stdout
