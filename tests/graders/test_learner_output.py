"""What a learner's program does with its output, in the real sandbox: always a verdict.

Floods without a newline, binary bytes, closed streams, writes to descriptors it was
not given, a child that holds the pipes after the program exits: in every case the
checker keeps working and its results are taken, with a score. The checkers here are
written the way lab checkers are (quote the end of the learner's stderr in a check's
output, copy it to the staff log), which is how a flood once voided a whole run.

Nothing here depends on the machine's speed: a flood is shown to be cut at the bound by
a marker the program would print at its end, never by how long the run took.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

import graders
from graders.sandbox import LOG_MAX_CHARS

Grade = Callable[..., graders.RunResult]

pytestmark = pytest.mark.docker

FLOOD = r"""
import os, threading
chunk = b"x" * (1 << 20)
def flood(fd):
    for _ in range(200):  # 200 MB, not one newline
        os.write(fd, chunk)
    os.write(fd, b"FLOOD-END")
threading.Thread(target=flood, args=(2,)).start()
flood(1)
"""

# Six checks, each quoting the end of the learner's stderr, and the
# learner's stderr copied to the staff log between the checker's first and last lines.
FLOOD_CHECKER = r"""
import json, sys
from downstack_harness import Grader

g = Grader()
print("checker started", file=sys.stderr, flush=True)
facts = {}
for number in range(6):
    run = g.run_learner(["python3", "flood.py"], timeout_s=120)
    sys.stderr.buffer.write(run.stderr + b"\n")
    sys.stderr.flush()
    last_lines = run.stderr.decode(errors="replace").strip().splitlines()[-3:]
    problem = run.output_note or f"exited with code {run.returncode}"
    g.check(f"run {number}", run.ok, output=problem + "\n" + "\n".join(last_lines))
    facts = {
        "returncode": run.returncode,
        "timed_out": run.timed_out,
        "memory_exceeded": run.memory_exceeded,
        "output_truncated": run.output_truncated,
        "flooded": list(run.flooded_streams),
        "stdout_bytes": len(run.stdout),
        "stderr_bytes": len(run.stderr),
        "finished": b"FLOOD-END" in run.stdout + run.stderr,
    }
g.check("facts", True, max_score=0, output=json.dumps(facts))
print("checker finished", file=sys.stderr, flush=True)
g.emit()
"""


def outputs(result: graders.RunResult) -> dict[str, str]:
    assert result.error is None, f"{result.error}\n{result.log[-3000:]}"
    assert result.results is not None
    return {test.name: test.output for test in result.results.tests}


def test_a_200_mb_flood_without_newlines_gets_a_score_and_a_staff_log(grade: Grade) -> None:
    result = grade(FLOOD_CHECKER, {"flood.py": FLOOD.encode()}, timeout_s=300)
    checks = outputs(result)
    assert result.results is not None
    assert (result.results.score, result.results.max_score) == (0, 6)
    facts = json.loads(checks.pop("facts"))
    assert facts["output_truncated"] and facts["flooded"]
    assert facts["returncode"] == -9  # the harness stopped it at the bound ...
    assert not facts["finished"]  # ... long before its end
    assert not (facts["timed_out"] or facts["memory_exceeded"])
    assert facts["stdout_bytes"] <= 1 << 20
    assert facts["stderr_bytes"] <= 65 << 10
    for output in checks.values():
        assert output.startswith("Your program wrote more than 1 MB to std"), output[:200]
    # The staff log: the checker's first and last lines, the middle left out, bounded.
    assert not (result.timed_out or result.oom_killed or result.output_truncated)
    assert result.log.startswith("checker started\n")
    assert "stopped after more than 1048576 bytes" in result.log[:1000]
    assert "checker finished" in result.log[-1000:]
    # Six copies of the learner's stderr (64 KB each) do not fit: the middle is left out.
    assert LOG_MAX_CHARS - 100 < len(result.log) <= LOG_MAX_CHARS
    assert result.failure_reason() is None


BINARY = r"""
import os, sys
data = bytes(range(256)) * 16 + b"\xff\xfe\xc3(" + b"\x00" * 10
os.write(1, data)
os.write(2, data)
"""

BINARY_CHECKER = r"""
import sys
from downstack_harness import Grader

g = Grader()
run = g.run_learner(["python3", "binary.py"])
expected = bytes(range(256)) * 16 + b"\xff\xfe\xc3(" + b"\x00" * 10
sys.stderr.buffer.write(run.stderr)  # raw bytes, NULs included, into the staff log
g.check("stdout byte for byte", run.stdout == expected and run.stderr == expected)
g.check("quoted with replacement", False, output=run.stdout.decode(errors="replace"))
g.check("quoted raw", False, output=run.stderr.decode("utf-8", "surrogateescape"))
g.emit()
"""


def test_binary_output_with_nul_bytes_is_data_and_storable(grade: Grade) -> None:
    result = grade(BINARY_CHECKER, {"binary.py": BINARY.encode()})
    checks = outputs(result)
    assert result.results is not None
    assert result.results.tests[0].status == "passed"
    for text in [*checks.values(), result.log]:
        assert "\x00" not in text  # PostgreSQL's text type refuses NUL
        text.encode("utf-8")  # no unpaired surrogates
    assert "\ufffd" in checks["quoted raw"] and "\ufffd" in result.log


DESCRIPTORS = r"""
import json, os, sys
seen = {"fds": sorted(int(fd) for fd in os.listdir("/proc/self/fd"))}
seen["stdin"] = sys.stdin.buffer.read()
written = []
for fd in range(3, 256):
    try:
        os.write(fd, b"DOWNSTACK-ENVELOPE 2\n{}")
        written.append(fd)
    except OSError:
        pass
seen["written"] = written
for path in ("/proc/1/fd/1", "/proc/1/fd/2", f"/proc/{os.getppid()}/fd/1"):
    try:
        with open(path, "w") as stream:
            stream.write("forged")
        seen[path] = "written"
    except OSError as exc:
        seen[path] = type(exc).__name__
print(json.dumps(seen, default=repr), flush=True)
os.close(1)
os.close(2)
sum(range(10**6))  # goes on working with both streams closed
sys.exit(3)
"""

DESCRIPTORS_CHECKER = r"""
import json
from downstack_harness import Grader

g = Grader()
run = g.run_learner(["python3", "descriptors.py"])
g.check("exit code", run.returncode == 3, output=str(run.returncode))
g.output = run.stdout.decode(errors="replace")
g.emit()
"""


def test_a_program_has_only_its_own_pipes_and_may_close_them(grade: Grade) -> None:
    result = grade(DESCRIPTORS_CHECKER, {"descriptors.py": DESCRIPTORS.encode()})
    outputs(result)
    assert result.results is not None and result.results.score == 1
    seen = json.loads(result.results.output)
    assert seen["fds"][:3] == [0, 1, 2] and len(seen["fds"]) == 4  # and the listing's own
    assert seen["stdin"] == "b''"  # /dev/null when the checker gives no input
    assert seen["written"] == []
    for path in ("/proc/1/fd/1", "/proc/1/fd/2"):
        assert seen[path] == "PermissionError", seen
    assert seen[next(path for path in seen if path.endswith("/fd/1") and "/1/" not in path)] in (
        "PermissionError",
        "FileNotFoundError",
    )


GRANDCHILD = r"""
import os, sys, time
if os.fork() == 0:
    os.setsid()  # leaves the process group, keeps the pipes
    if os.fork() == 0:
        while True:
            os.write(2, b"still here ")
            time.sleep(0.01)
    os._exit(0)
print("parent done", flush=True)
"""

GRANDCHILD_CHECKER = r"""
import json, os
from downstack_harness import Grader

g = Grader()
run = g.run_learner(["python3", "grandchild.py"], timeout_s=120)
left = []
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        status = open(f"/proc/{pid}/status").read()
    except OSError:
        continue
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    if fields["Uid"].split()[0] == str(g.learner_uid) and fields["State"].split()[0] != "Z":
        left.append(pid)
g.check("parent", run.returncode == 0 and run.stdout == b"parent done\n")
g.output = json.dumps({"timed_out": run.timed_out, "left": left})
g.emit()
"""


def test_a_grandchild_holding_the_pipes_ends_with_the_program(grade: Grade) -> None:
    result = grade(GRANDCHILD_CHECKER, {"grandchild.py": GRANDCHILD.encode()}, timeout_s=300)
    outputs(result)
    assert result.results is not None and result.results.score == 1
    # Not waited for until the time limit, and nothing of it is left.
    assert json.loads(result.results.output) == {"timed_out": False, "left": []}
