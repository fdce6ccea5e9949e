"""The `downstack` terminal client against a live test server, as a learner uses it."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from accounts.models import ApiToken

LAB = Path(__file__).resolve().parents[2] / "labs" / "hello-sandbox"


@pytest.fixture
def cli(tmp_path, live_server):
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config")}
    env.pop("DOWNSTACK_URL", None)
    env.pop("DOWNSTACK_TOKEN", None)
    work = tmp_path / "work"
    work.mkdir()

    def run(*args, check_code=None):
        done = subprocess.run(
            [sys.executable, "-m", "downstack_cli", *args],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if check_code is not None:
            assert done.returncode == check_code, done.stdout + done.stderr
        return done

    run.work = work
    run.config = tmp_path / "config" / "downstack" / "config.json"
    return run


@pytest.fixture
def token(learner):
    return ApiToken.issue(user=learner, name="cli")[1]


def test_login_saves_a_private_config_and_labs_lists(cli, live_server, token, hello_lab):
    done = cli("login", "--url", live_server.url, "--token", token, check_code=0)
    assert "1 lab(s) available" in done.stdout
    assert oct(cli.config.stat().st_mode & 0o777) == "0o600"
    listing = cli("labs", check_code=0).stdout
    assert "hello-sandbox" in listing and "not started" in listing


def test_login_with_a_bad_token_fails_and_saves_nothing(cli, live_server, hello_lab):
    done = cli("login", "--url", live_server.url, "--token", "ds_wrong", check_code=2)
    assert "API token" in done.stderr
    assert not cli.config.exists()


def test_commands_before_login_say_what_to_do(cli):
    assert "run `downstack login` first" in cli("labs", check_code=2).stderr


def test_get_writes_the_starter_and_refuses_to_overwrite(cli, live_server, token, hello_lab):
    cli("login", "--url", live_server.url, "--token", token, check_code=0)
    done = cli("get", "hello-sandbox", check_code=0)
    assert "Hand in: logparse.py" in done.stdout
    assert "the instructions are in README.md" in done.stdout
    assert (cli.work / "hello-sandbox" / "README.md").read_text() == hello_lab.instructions_md
    assert (cli.work / "hello-sandbox" / "logparse.py").read_bytes() == (
        LAB / "starter" / "logparse.py"
    ).read_bytes()
    assert "is not empty" in cli("get", "hello-sandbox", check_code=2).stderr
    assert "not found" in cli("get", "no-such-lab", "--dir", "x", check_code=2).stderr


def test_rejected_submission_exits_2_with_the_reason(cli, live_server, token, hello_lab):
    cli("login", "--url", live_server.url, "--token", token, check_code=0)
    empty = cli.work / "logparse.py"
    empty.write_text("")
    done = cli("submit", "hello-sandbox", str(empty), "--no-wait", check_code=2)
    assert "logparse.py: The submitted file is empty." in done.stderr


@pytest.mark.docker
@pytest.mark.worker
def test_submit_waits_prints_feedback_and_exit_code_says_pass_or_not(
    cli, live_server, token, hello_lab, grader_image, start_worker
):
    start_worker()
    cli("login", "--url", live_server.url, "--token", token, check_code=0)
    solution = cli.work / "solution" / "logparse.py"
    solution.parent.mkdir()
    solution.write_bytes((LAB / "solution" / "logparse.py").read_bytes())
    passed = cli("submit", "hello-sandbox", str(solution), check_code=0)
    assert "Score: 10 / 10  — passed" in passed.stdout
    assert "Hidden checks: 6 passed, 0 failed." in passed.stdout
    assert "queued" in passed.stdout

    cli("get", "hello-sandbox", check_code=0)
    failed = cli("submit", "hello-sandbox", check_code=1)  # the starter from ./hello-sandbox/
    assert "Score: 0 / 10" in failed.stdout and "✗" in failed.stdout


def test_get_keeps_a_starter_readme_and_writes_the_instructions_beside_it(
    cli, live_server, token, scratch_lab, labs_dir
):
    lab = scratch_lab("own-readme", "print(1)\n")
    (labs_dir / "own-readme" / "starter" / "README.md").write_text("the service's own readme\n")
    cli("login", "--url", live_server.url, "--token", token, check_code=0)
    done = cli("get", "own-readme", check_code=0)
    assert "the instructions are in INSTRUCTIONS.md" in done.stdout
    folder = cli.work / "own-readme"
    assert (folder / "README.md").read_text() == "the service's own readme\n"
    assert (folder / "INSTRUCTIONS.md").read_text() == lab.instructions_md


SLOW_SECOND_CASE = """
import time
from downstack_harness import Grader

g = Grader()
g.check("case 1", True)
g.check("hidden case", True, visibility="hidden")
g.running("case 2")
time.sleep(5)  # long enough for the client to see the first checks on their own
g.check("case 2", False, output="expected 4, got 5")
g.emit()
"""


@pytest.mark.docker
@pytest.mark.worker
def test_submit_shows_each_check_as_it_finishes(
    cli, live_server, token, scratch_lab, grader_image, start_worker
):
    scratch_lab("slow", SLOW_SECOND_CASE)
    start_worker()
    cli("login", "--url", live_server.url, "--token", token, check_code=0)
    (cli.work / "main.py").write_text("print(4)\n")
    done = cli("submit", "slow", "main.py", "--poll", "0.2", check_code=1)
    lines = done.stdout.splitlines()
    progress = lines[: lines.index("")]  # before the result's blank line
    assert "    ✓ case 1  (1/1)" in progress, done.stdout
    assert "    hidden checks so far: 1 passed, 0 failed" in progress
    assert "  … running: case 2" in progress
    assert progress.index("    ✓ case 1  (1/1)") < progress.index("  … running: case 2")
    assert "Score: 2 / 3" in done.stdout and "✗ case 2  (0/1)" in done.stdout
