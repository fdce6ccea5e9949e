"""Long-lived learner processes (`Grader.start_learner`) in the real sandbox, runc and runsc.

Each process gets a fresh uid of its own; an isolated one can reach nothing but its
pipes. The checkers here start two processes and let one try every channel to the other
that a lab's nodes could use to collude past the checker: a file in /tmp, a signal,
loopback TCP, a unix socket (named or abstract), a file in its own folder. Each check
reports what happened, so a failure says which channel opened.
"""

from __future__ import annotations

import json

import docker
import pytest

from tests.graders.conftest import Grade

pytestmark = pytest.mark.docker

# The learner's side: a line-driven probe that tries what it is told and says how it went.
PROBE = r"""
import os, signal, socket, sys, time

KEEP = []  # listening sockets stay open until the process ends

def attempt(what):
    kind, _, arg = what.partition(" ")
    if kind == "whoami":
        return f"{os.getuid()} {os.getpid()}"
    if kind == "write-tmp":
        with open("/tmp/collude.txt", "w") as f:
            f.write("leader is n1")
        os.chmod("/tmp/collude.txt", 0o666)
        return "wrote"
    if kind == "read-tmp":
        return open("/tmp/collude.txt").read()
    if kind == "write-own":
        with open("probe.py", "a") as f:
            f.write("# leader is n1\n")
        return "wrote"
    if kind == "read-other":
        return open(arg).read()[-20:].replace("\n", "|")
    if kind == "signal":
        os.kill(int(arg), signal.SIGTERM)
        return "sent"
    if kind == "listen-tcp":
        s = socket.socket()
        s.bind(("127.0.0.1", 47001))
        s.listen()
        KEEP.append(s)
        return "listening"
    if kind == "connect-tcp":
        socket.create_connection(("127.0.0.1", 47001), timeout=1).sendall(b"hi")
        return "connected"
    if kind == "listen-unix":
        s = socket.socket(socket.AF_UNIX)
        s.bind("\0collude")
        s.listen()
        KEEP.append(s)
        return "listening"
    if kind == "connect-unix":
        s = socket.socket(socket.AF_UNIX)
        s.connect("\0collude")
        return "connected"
    if kind == "bind-unix-file":
        socket.socket(socket.AF_UNIX).bind("/tmp/collude.sock")
        return "bound"
    if kind == "spawn":
        child = os.fork()
        if child == 0:
            os.setsid()
            time.sleep(600)
            os._exit(0)
        return str(child)
    return "unknown"

for line in sys.stdin:
    try:
        answer = "ok " + attempt(line.strip())
    except Exception as exc:
        answer = f"refused {type(exc).__name__}"
    print(answer, flush=True)
"""

CHECKER = r"""
import json, os, time
from downstack_harness import Grader

g = Grader()
isolated = os.environ["ISOLATED"] == "1"
a = g.start_learner(["python3", "probe.py"], isolated=isolated)
b = g.start_learner(["python3", "probe.py"], isolated=isolated)

def ask(process, what):
    process.send_line(what)
    return process.read_line(time.monotonic() + 10)

seen = {}
seen["uid_a"], seen["pid_a"] = ask(a, "whoami").split()[1:]
seen["uid_b"], seen["pid_b"] = ask(b, "whoami").split()[1:]
seen["write_tmp"] = ask(a, "write-tmp")
seen["read_tmp"] = ask(b, "read-tmp")
seen["write_own"] = ask(a, "write-own")
seen["read_other"] = ask(b, "read-other " + str(a.workdir / "probe.py"))
seen["signal"] = ask(a, "signal " + seen["pid_b"])
# A signal that got through is pending before kill() returns, and b would die of it
# before it could answer: its answer shows it was refused, with no sleep to guess.
seen["b_alive_after_signal"] = ask(b, "whoami").startswith("ok") and b.poll() is None
seen["listen_tcp"] = ask(b, "listen-tcp")
seen["connect_tcp"] = ask(a, "connect-tcp")
seen["listen_unix"] = ask(b, "listen-unix")
seen["connect_unix"] = ask(a, "connect-unix")
seen["bind_unix_file"] = ask(a, "bind-unix-file")
# close() ends a process and all it started, even a child in a session of its own,
# and nothing of the other process.
child = int(ask(a, "spawn").split()[1]) if not isolated else None
a.close()
if child is not None:
    # close() returns once no process of a's uid runs; a zombie not yet reaped is gone.
    try:
        state = open(f"/proc/{child}/stat").read().rsplit(")", 1)[1].split()[0]
    except OSError:
        state = "gone"
    seen["child_gone"] = state in ("gone", "Z", "X")
seen["b_alive_after_close_of_a"] = b.poll() is None and ask(b, "whoami").startswith("ok")
b.close()
seen["b_gone"] = b.poll() is not None
print(json.dumps(seen), file=__import__("sys").stderr)
g.output = json.dumps(seen)
g.check("probed", True)
g.emit()
"""


def _probe(grade: Grade, *, isolated: bool, runtime: str | None) -> dict:
    result = grade(
        CHECKER,
        {"probe.py": PROBE.encode()},
        env={"ISOLATED": "1" if isolated else "0"},
        runtime=runtime,
        timeout_s=60.0,
    )
    assert result.results is not None, (result.error, result.log[-3000:])
    return json.loads(result.results.output)


@pytest.fixture(params=["runc", "runsc"])
def runtime(request: pytest.FixtureRequest, docker_client: docker.DockerClient) -> str | None:
    if request.param == "runsc" and "runsc" not in (docker_client.info().get("Runtimes") or {}):
        pytest.skip("gVisor's runsc is not registered with Docker (run scripts/host-setup.sh)")
    return None if request.param == "runc" else "runsc"


def test_isolated_processes_can_reach_each_other_only_through_the_checker(
    grade: Grade, runtime: str | None
) -> None:
    seen = _probe(grade, isolated=True, runtime=runtime)
    assert seen["uid_a"] != seen["uid_b"]
    assert seen["write_tmp"].startswith("refused"), seen
    assert seen["read_tmp"].startswith("refused"), seen
    assert seen["write_own"].startswith("refused"), seen
    assert "leader" not in seen["read_other"], seen
    assert seen["b_alive_after_signal"], seen
    for channel in ("listen_tcp", "connect_tcp", "listen_unix", "connect_unix", "bind_unix_file"):
        assert seen[channel].startswith("refused"), (channel, json.dumps(seen))
    assert seen["b_alive_after_close_of_a"] and seen["b_gone"], seen


def test_each_process_has_its_own_uid_and_close_ends_only_what_it_started(
    grade: Grade, runtime: str | None
) -> None:
    seen = _probe(grade, isolated=False, runtime=runtime)
    assert seen["uid_a"] != seen["uid_b"]
    # Without isolation the channels are open (so the isolated test above has teeth),
    # but a process still cannot signal another.
    assert seen["read_tmp"] == "ok leader is n1", seen
    assert seen["connect_tcp"] == "ok connected" and seen["connect_unix"] == "ok connected", seen
    assert seen["signal"].startswith("refused"), seen
    assert seen["b_alive_after_signal"], seen
    assert seen["child_gone"], seen
    assert seen["b_alive_after_close_of_a"] and seen["b_gone"], seen
