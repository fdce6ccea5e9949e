"""The checker-side harness on the host, as a lab author uses it (no uid switch here).

The uid switch and the clean-up sweep run only inside grader containers; the Docker
tests prove those. These tests cover what does not depend on them: limits, timeouts,
output caps, fresh copies and the results the harness emits.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

from graders import parse_results
from graders.images import HARNESS_FILE


def _load_harness() -> ModuleType:
    spec = importlib.util.spec_from_file_location("downstack_harness", HARNESS_FILE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


harness = _load_harness()


@pytest.fixture
def submission(tmp_path: Path) -> Path:
    root = tmp_path / "submission"
    (root / "pkg").mkdir(parents=True)
    (root / "main.py").write_text("import sys\nprint(sys.stdin.read().upper())\n")
    (root / "pkg" / "data.txt").write_text("data")
    return root


@pytest.fixture
def grader(submission: Path) -> harness.Grader:  # type: ignore[name-defined]
    return harness.Grader(environ={"DOWNSTACK_SUBMISSION": str(submission)})


def test_learner_program_gets_its_input_and_a_clean_environment(grader, monkeypatch) -> None:
    monkeypatch.setenv("CHECKER_SECRET", "do not leak")
    run = grader.run_learner([sys.executable, "main.py"], input=b"hello")
    assert run.returncode == 0 and run.ok
    assert run.stdout == b"HELLO\n"
    env = grader.run_learner(
        [sys.executable, "-c", "import json, os; print(json.dumps(dict(os.environ)))"],
        extra_env={"DOWNSTACK_SEED": "7"},
    )
    seen = json.loads(env.stdout)
    assert set(seen) == {
        "PATH",
        "HOME",
        "LANG",
        "PYTHONDONTWRITEBYTECODE",
        "PYTHONUNBUFFERED",
        "DOWNSTACK_SEED",
    }
    assert seen["DOWNSTACK_SEED"] == "7"


def test_each_run_gets_a_fresh_copy_and_the_submission_is_untouched(grader, submission) -> None:
    write = "open('main.py', 'w').write('changed'); open('new.txt', 'w').write('x')"
    first = grader.run_learner([sys.executable, "-c", write])
    assert first.returncode == 0, first.stderr
    look = "import os; print(sorted(os.listdir('.')), open('main.py').read()[:6])"
    second = grader.run_learner([sys.executable, "-c", look])
    assert second.stdout.decode().strip() == "['main.py', 'pkg'] import"
    assert (submission / "main.py").read_text().startswith("import sys")
    assert not (submission / "new.txt").exists()


def test_timeout_kills_the_whole_process_group(grader) -> None:
    code = "import os, time\nos.fork()\ntime.sleep(60)"  # a child that holds the pipes
    started = time.monotonic()
    run = grader.run_learner([sys.executable, "-c", code], timeout_s=1)
    assert run.timed_out
    assert not run.memory_exceeded
    assert time.monotonic() - started < 5
    assert 1 <= run.duration_s < 3


def test_output_past_the_cap_stops_the_program(grader) -> None:
    code = "import sys\nwhile True: sys.stdout.write('x' * 65536)"
    run = grader.run_learner([sys.executable, "-c", code], timeout_s=10)
    assert run.output_truncated
    assert len(run.stdout) == harness.LEARNER_OUTPUT_BYTES
    assert run.duration_s < 5
    assert not run.memory_exceeded


def test_memory_past_the_allowance_is_flagged(grader) -> None:
    run = grader.run_learner([sys.executable, "-c", "b = bytearray(300 << 20)"], memory_mb=100)
    assert run.memory_exceeded
    assert b"MemoryError" in run.stderr
    assert not run.ok


def test_missing_program_is_reported_not_raised(grader) -> None:
    run = grader.run_learner(["no-such-program-here"])
    assert run.returncode is None
    assert b"No such file" in run.stderr


def test_emitted_results_satisfy_the_results_contract(grader, capsys) -> None:
    assert grader.check("first", True, max_score=2, output="fine", tags=("a",)) is True
    assert grader.check("second", False, visibility="hidden") is False
    grader.check("partial", False, score=0.5, max_score=1)
    grader.output = "Two of three."
    grader.emit()
    results = parse_results(capsys.readouterr().out, max_bytes=262_144)
    assert (results.score, results.max_score) == (2.5, 4)
    assert [t.status for t in results.tests] == ["passed", "failed", "failed"]
    assert results.tests[1].visibility == "hidden"
    assert results.output == "Two of three."


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"visibility": "public"}, "visibility must be one of"),
        ({"tags": "one-string"}, "tags must be a sequence"),
        ({"score": 2, "max_score": 1}, "score 2 must be within 0..1"),
        ({"score": float("nan")}, "must be within"),
    ],
)
def test_check_refuses_what_the_host_would_refuse(grader, kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        grader.check("t", True, **kwargs)


def test_submission_file_reads_submitted_files_only(grader) -> None:
    assert grader.submission_file("pkg/data.txt") == b"data"
    assert grader.submission_file("missing.py") is None
    assert grader.submission_file("pkg") is None
    with pytest.raises(ValueError, match="outside the submission"):
        grader.submission_file("../../etc/passwd")


@pytest.mark.skipif(os.getuid() == 0, reason="as root the uid switch would really happen")
def test_learner_uid_without_root_is_refused() -> None:
    with pytest.raises(RuntimeError, match="not root"):
        harness.Grader(environ={"DOWNSTACK_LEARNER_UID": "2000"})


def test_learner_uid_zero_is_refused() -> None:
    with pytest.raises(RuntimeError, match="must not run as root"):
        harness.Grader(environ={"DOWNSTACK_LEARNER_UID": "0"})


# -- long-lived processes (start_learner) ----------------------------------------------

ECHO = "import sys\nfor line in sys.stdin:\n    print(line.strip().upper(), flush=True)\n"


def _state(pid: int) -> str:
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2]


def _wait_for(condition, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


def test_a_long_lived_process_answers_line_by_line(grader, submission) -> None:
    (submission / "echo.py").write_text(ECHO)
    with grader.start_learner([sys.executable, "echo.py"]) as process:
        for word in ("one", "two", "three"):
            process.send_line(word)
            assert process.read_line(time.monotonic() + 10) == word.upper()
        assert process.rss_kib() and process.rss_kib() > 1000
        assert process.cpu_time_s() is not None
        workdir = process.workdir
        assert workdir.is_dir() and workdir != submission
    assert process.poll() is not None
    assert not workdir.exists()


def test_read_line_raises_at_its_deadline_for_a_silent_process(grader) -> None:
    with grader.start_learner([sys.executable, "-c", "import time; time.sleep(60)"]) as process:
        with pytest.raises(harness.LearnerProcessTimeout, match="did not answer in time"):
            process.read_line(time.monotonic() + 0.2)
        assert process.poll() is None  # a timeout leaves it running


def test_an_exited_process_is_reported_with_its_code_and_stderr(grader) -> None:
    code = "import sys; print('boom', file=sys.stderr); sys.exit(3)"
    with grader.start_learner([sys.executable, "-c", code]) as process:
        with pytest.raises(harness.LearnerProcessExited, match=r"exited with code 3(.|\n)*boom"):
            process.read_line(time.monotonic() + 10)


def test_a_line_past_the_limit_is_refused(grader) -> None:
    code = "import sys; sys.stdout.write('x' * 100000); sys.stdout.flush(); input()"
    with grader.start_learner([sys.executable, "-c", code]) as process:
        with pytest.raises(harness.LearnerProcessError, match="longer than 1,000 bytes"):
            process.read_line(time.monotonic() + 10, max_bytes=1000)


def test_a_missing_program_cannot_be_started(grader) -> None:
    with pytest.raises(harness.LearnerProcessError, match="could not be started"):
        grader.start_learner(["no-such-program-here"])


def test_pause_stops_the_process_and_resume_lets_it_go_on(grader, submission) -> None:
    (submission / "echo.py").write_text(ECHO)
    with grader.start_learner([sys.executable, "echo.py"]) as process:
        process.pause()
        assert _wait_for(lambda: _state(process.pid) == "T")
        process.resume()
        assert _wait_for(lambda: _state(process.pid) != "T")
        process.send_line("still here")
        assert process.read_line(time.monotonic() + 10) == "STILL HERE"


def test_close_ends_a_paused_process_and_kill_ends_it_at_once(grader, submission) -> None:
    (submission / "echo.py").write_text(ECHO)
    paused = grader.start_learner([sys.executable, "echo.py"])
    paused.pause()
    paused.close()
    paused.close()  # safe twice
    assert paused.poll() is not None
    killed = grader.start_learner([sys.executable, "echo.py"])
    killed.kill()
    assert killed.wait(10) == -9
    killed.close()


def test_an_isolated_process_cannot_open_sockets_or_create_files(grader, tmp_path) -> None:
    probe = (
        "import os, socket\n"
        "def attempt(action):\n"
        "    try:\n"
        "        action()\n"
        "        return 'allowed'\n"
        "    except PermissionError:\n"
        "        return 'refused'\n"
        f"target = {str(tmp_path / 'made')!r}\n"
        "print(attempt(socket.socket), attempt(lambda: socket.socket(socket.AF_UNIX)),\n"
        "      attempt(lambda: open(target + '1', 'w')), attempt(lambda: os.mkdir(target + '2')),\n"
        "      attempt(lambda: os.symlink('/etc', target + '3')),\n"
        "      attempt(lambda: open('main.py').read()),\n"
        "      flush=True)\n"
        "input()\n"
    )
    with grader.start_learner([sys.executable, "-c", probe], isolated=True) as process:
        answer = process.read_line(time.monotonic() + 10)
    assert answer == "refused refused refused refused refused allowed"
    assert not list(tmp_path.glob("made*"))
    with grader.start_learner([sys.executable, "-c", probe]) as process:
        assert process.read_line(time.monotonic() + 10).startswith("allowed allowed allowed")


def test_run_learner_can_run_in_a_copy_of_another_folder(grader, tmp_path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "main.py").write_text("print('from the other folder')\n")
    run = grader.run_learner([sys.executable, "main.py"], source=other)
    assert run.stdout == b"from the other folder\n"
