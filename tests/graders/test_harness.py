"""The checker-side harness on the host, as a lab author uses it (no uid switch here).

The uid switch and the clean-up sweep run only inside grader containers; the Docker
tests prove those. These tests cover what does not depend on them: limits, timeouts,
output caps, fresh copies and the results the harness emits.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

from graders import parse_results
from graders.images import HARNESS_FILE
from graders.results import MAX_OUTPUT_BYTES


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


def _gone(pid: int) -> bool:
    """Whether a process has ended (a zombie waiting for its parent counts as ended)."""
    try:
        return _state(pid) in "ZX"
    except FileNotFoundError:
        return True


def test_timeout_kills_the_whole_process_group(grader) -> None:
    # A child that holds the pipes and prints its pid, so the test can look for it.
    code = "import os, time\nif os.fork() == 0:\n    print(os.getpid(), flush=True)\ntime.sleep(60)"
    run = grader.run_learner([sys.executable, "-c", code], timeout_s=1)
    assert run.timed_out
    assert not run.memory_exceeded
    assert run.duration_s >= 1
    assert _wait_for(lambda: _gone(int(run.stdout)))


def test_output_past_the_bound_stops_the_program_and_says_so(grader) -> None:
    code = "import sys\nwhile True: sys.stdout.write('x' * 65536)"
    run = grader.run_learner([sys.executable, "-c", code], timeout_s=60)
    # Stopped by the bound (SIGKILL), long before its time limit.
    assert run.output_truncated and not run.timed_out
    assert run.returncode == -signal.SIGKILL
    assert run.flooded_streams == ("stdout",)
    assert len(run.stdout) == harness.LEARNER_OUTPUT_BYTES
    assert 0 < run.stdout_dropped_bytes <= 1 << 16
    assert not run.memory_exceeded
    assert run.output_note == (
        "Your program wrote more than 1 MB to stdout and was stopped there; "
        "only that first part was read."
    )


def test_a_flood_without_newlines_on_both_streams_is_cut_at_the_bound(grader, capfd) -> None:
    code = (
        "import os, threading\n"
        "chunk = b'x' * (1 << 20)\n"
        "def flood(fd):\n"
        "    for _ in range(200):\n"
        "        os.write(fd, chunk)\n"
        "    os.write(2, b'FLOOD-END')\n"
        "threading.Thread(target=flood, args=(2,)).start()\n"
        "flood(1)\n"
    )
    run = grader.run_learner([sys.executable, "-c", code], timeout_s=60)
    assert run.output_truncated and not run.timed_out and not run.memory_exceeded
    assert set(run.flooded_streams) <= {"stdout", "stderr"} and run.flooded_streams
    assert len(run.stdout) <= harness.LEARNER_OUTPUT_BYTES
    assert b"FLOOD-END" not in run.stderr  # stopped, not read to the end
    assert len(run.stderr) <= (
        harness.LEARNER_STDERR_HEAD_BYTES + harness.LEARNER_STDERR_TAIL_BYTES + 64
    )
    assert "stopped after more than 1048576 bytes" in capfd.readouterr().err


def test_stderr_keeps_its_start_and_its_end(grader) -> None:
    head, tail = harness.LEARNER_STDERR_HEAD_BYTES, harness.LEARNER_STDERR_TAIL_BYTES
    code = (
        f"import sys\nsys.stderr.write('S' * {head} + 'm' * 5000 + 'E' * {tail})\nprint('answer')\n"
    )
    run = grader.run_learner([sys.executable, "-c", code])
    assert run.ok and not run.output_truncated
    assert run.stdout == b"answer\n"
    assert run.stderr == b"S" * head + b"\n[... 5000 bytes left out ...]\n" + b"E" * tail
    assert run.stderr_dropped_bytes == 5000
    short = grader.run_learner([sys.executable, "-c", "import sys; sys.stderr.write('oops')"])
    assert short.stderr == b"oops" and short.stderr_dropped_bytes == 0


def test_binary_output_is_kept_byte_for_byte(grader) -> None:
    code = "import os\ndata = bytes(range(256)) * 64\nos.write(1, data)\nos.write(2, data[::-1])"
    run = grader.run_learner([sys.executable, "-c", code])
    assert run.ok
    assert run.stdout == bytes(range(256)) * 64
    assert run.stderr == (bytes(range(256)) * 64)[::-1]


def test_closed_streams_and_a_child_holding_the_pipes_do_not_hold_up_the_run(grader) -> None:
    closes = "import os, sys\nprint('bye', flush=True)\nos.close(1)\nos.close(2)\nsys.exit(3)"
    run = grader.run_learner([sys.executable, "-c", closes])
    assert (run.returncode, run.stdout, run.timed_out) == (3, b"bye\n", False)
    # The child stays in the program's group: the harness ends it with the program.
    holds = "import os, time\nif os.fork() == 0:\n    time.sleep(60)\nprint('parent done')"
    run = grader.run_learner([sys.executable, "-c", holds], timeout_s=60)
    assert (run.returncode, run.stdout, run.timed_out) == (0, b"parent done\n", False)


def test_input_is_fed_whole_and_a_program_that_ignores_it_is_not_waited_for(grader) -> None:
    data = os.urandom(3 << 20)
    count = "import sys\nprint(len(sys.stdin.buffer.read()))"
    run = grader.run_learner([sys.executable, "-c", count], input=data)
    assert run.stdout == str(len(data)).encode() + b"\n"
    ignores = grader.run_learner([sys.executable, "-c", "print('no')"], input=data, timeout_s=60)
    assert (ignores.returncode, ignores.stdout, ignores.timed_out) == (0, b"no\n", False)


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


def test_check_output_is_cut_to_the_contracts_limit_and_made_storable(grader) -> None:
    assert harness.CHECK_OUTPUT_BYTES == MAX_OUTPUT_BYTES
    grader.check("long", False, output="é" * MAX_OUTPUT_BYTES)
    grader.check("binary", False, output="a\0b" + b"\xff".decode("utf-8", "surrogateescape"))
    long, binary = (test["output"] for test in grader.results()["tests"])
    assert len(long.encode()) <= MAX_OUTPUT_BYTES
    assert long.startswith("éé") and long.endswith("éé") and " bytes left out ...]" in long
    assert binary == "a\ufffdb\ufffd"


def test_emit_shortens_outputs_until_the_document_fits_the_result_limit(submission, capsys) -> None:
    limit = 20_000
    grader = harness.Grader(
        environ={"DOWNSTACK_SUBMISSION": str(submission), "DOWNSTACK_RESULT_BYTES": str(limit)}
    )
    for number in range(10):
        grader.check(f"check {number}", number % 2 == 0, output="y" * 100_000)
    grader.emit()
    printed = capsys.readouterr()
    assert len(printed.out) <= limit
    results = parse_results(printed.out, max_bytes=limit)
    assert (results.score, results.max_score) == (5, 10)
    assert all(test.output.startswith("yyy") for test in results.tests)
    assert "outputs shortened to 1024 bytes each" in printed.err


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


def test_a_long_lived_process_may_flood_its_stderr_at_no_cost_to_the_checker(grader) -> None:
    # Its stderr is drained while it runs: the 5 MB are read by the time it says "ready".
    code = (
        "import os, sys\n"
        "for _ in range(80): os.write(2, b'e' * 65536)\n"
        "os.write(2, b'THE END')\n"
        "print('ready', flush=True)\n"
        "input()\n"
    )
    with grader.start_learner([sys.executable, "-c", code]) as process:
        assert process.read_line(time.monotonic() + 10) == "ready"
        assert process.stderr_bytes >= 80 * 65536 - (1 << 16)  # all but a pipe's worth
        assert len(process.stderr_tail(1)) <= harness.STDERR_TAIL_BYTES


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


# -- the progress stream ----------------------------------------------------------------


def _progress_pipe(submission: Path, **env: str):
    read, write = os.pipe()
    os.set_blocking(read, False)
    grader = harness.Grader(
        environ={
            "DOWNSTACK_SUBMISSION": str(submission),
            "DOWNSTACK_PROGRESS_FD": str(write),
            **env,
        }
    )
    return grader, read


def _records(fd: int) -> list[dict]:
    data = b""
    while True:
        try:
            chunk = os.read(fd, 1 << 16)
        except BlockingIOError:
            break
        if not chunk:
            break
        data += chunk
    records = []
    while data:
        header, _, rest = data.partition(b"\n")
        records.append(json.loads(rest[: int(header)]))
        data = rest[int(header) :]
    return records


def test_each_check_is_streamed_framed_the_moment_it_is_made(submission) -> None:
    from graders.results import MAX_PROGRESS_RECORD_BYTES, parse_progress

    grader, read = _progress_pipe(submission)
    assert harness.PROGRESS_RECORD_BYTES == MAX_PROGRESS_RECORD_BYTES
    grader.running("adds two numbers")
    assert _records(read) == [{"running": "adds two numbers"}]
    grader.check("adds two numbers", True, max_score=2, output="7", tags=("arith",))
    assert _records(read) == [
        {
            "check": {
                "name": "adds two numbers",
                "score": 2.0,
                "max_score": 2.0,
                "status": "passed",
                "output": "7",
                "visibility": "visible",
                "tags": ["arith"],
            }
        }
    ]
    # A long output is cut to a preview, and a record of escapes still fits its limit.
    grader.check("long", False, output="é" * 100_000)
    grader.check("escapes", False, output="\x01" * 100_000)
    long, escapes = _records(read)
    assert len(long["check"]["output"].encode()) <= harness.PROGRESS_OUTPUT_BYTES
    for index, record in enumerate((long, escapes), start=1):
        raw = json.dumps(record, ensure_ascii=False).encode()
        assert len(raw) <= MAX_PROGRESS_RECORD_BYTES
        assert parse_progress(raw, index=index).check is not None


def test_the_stream_stops_at_the_result_limit_and_says_so(submission, capsys) -> None:
    grader, read = _progress_pipe(submission, DOWNSTACK_RESULT_BYTES="1024")
    for number in range(20):
        grader.check(f"check {number}", True, output="x" * 100)
    streamed = _records(read)
    assert 0 < len(streamed) < 20
    assert sum(len(json.dumps(r, ensure_ascii=False)) for r in streamed) <= 1024
    assert "progress stream reached the run's result limit" in capsys.readouterr().err
    # The final document still has every check.
    assert len(grader.results()["tests"]) == 20


def test_learner_programs_do_not_get_the_progress_pipe(submission) -> None:
    grader, read = _progress_pipe(submission)
    fd = grader._progress.fd
    assert not os.get_inheritable(fd)
    code = (
        "import os, sys\n"
        f"try:\n    os.write({fd}, b'9\\n{{\"x\": 1}}')\n    print('written')\n"
        "except OSError as exc:\n    print(type(exc).__name__)\n"
    )
    run = grader.run_learner([sys.executable, "-c", code])
    assert run.stdout.strip() == b"OSError", run.stdout  # EBADF: not open in the program
    assert _records(read) == []


def test_a_running_name_must_be_a_check_name(grader) -> None:
    with pytest.raises(ValueError, match="1 to 200 characters"):
        grader.running("")
    with pytest.raises(ValueError, match="1 to 200 characters"):
        grader.running("x" * 201)
    grader.running("fine without a stream")  # outside the sandbox: nothing to send


def test_declared_checks_are_streamed_and_checked(submission) -> None:
    grader, read = _progress_pipe(submission)
    grader.expect("hidden case 1", max_score=3, visibility="hidden")
    grader.expect("compiles")
    assert _records(read) == [
        {"expect": {"name": "hidden case 1", "max_score": 3.0, "visibility": "hidden"}},
        {"expect": {"name": "compiles", "max_score": 1.0, "visibility": "visible"}},
    ]
    with pytest.raises(ValueError, match="visibility must be one of"):
        grader.expect("x", visibility="secret")
    with pytest.raises(ValueError, match="must be a number >= 0"):
        grader.expect("x", max_score=float("nan"))


def test_a_budget_names_the_running_check_and_bounds_the_runs_inside_it(submission) -> None:
    grader, read = _progress_pipe(submission)
    with grader.budget("case 2", 0.5) as budget:
        # Asked for ten minutes; the test ending at all shows the budget's bound held.
        run = grader.run_learner(
            [sys.executable, "-c", "import time; time.sleep(600)"], timeout_s=600
        )
    assert run.timed_out
    assert budget.spent and budget.remaining() == 0
    assert _records(read) == [{"running": "case 2"}]
    # Outside it, a run gets the timeout it asks for.
    quick = grader.run_learner([sys.executable, "-c", "print('ok')"], timeout_s=60)
    assert quick.ok and not quick.timed_out
    with pytest.raises(ValueError, match="positive number of seconds"):
        with grader.budget("case 3", 0):
            pass
