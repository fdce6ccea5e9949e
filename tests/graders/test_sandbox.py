"""The sandbox against the real Docker engine: each test proves one protection holds.

Checkers here report what they observed as the output of a single check, so the tests
can assert on what the checker and the learner's program could and could not do.
Every test also proves, through the ``run_marker`` fixture, that no container is left.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

import docker
import pytest

import graders
from graders.harness.downstack_harness import LEARNER_PROCESSES
from graders.sandbox import CAPABILITIES, LEARNER_UID_BASE, LEARNER_UID_SPAN, LOG_MAX_CHARS

Grade = Callable[..., graders.RunResult]
Live = Callable[[], list[str]]

pytestmark = pytest.mark.docker

# Shared by the checkers below: report a dict of observations as the one check's output.
PRELUDE = r"""
import errno, json, os, subprocess, sys, time
from downstack_harness import Grader

g = Grader()

def report(observations):
    g.check("observed", True, output=json.dumps(observations))
    g.emit()

def learner(source, **options):
    "Run a Python program as the learner; returns (parsed JSON stdout or None, run)."
    options.setdefault("timeout_s", 60)  # a safety net: these programs take a moment
    run = g.run_learner(["python3", "-c", source], **options)
    try:
        return json.loads(run.stdout), run
    except ValueError:
        return None, run
"""


def checker(body: str) -> str:
    return PRELUDE + textwrap.dedent(body)


def observed(result: graders.RunResult) -> dict:
    assert result.error is None, f"{result.error}\n{result.log}"
    assert result.results is not None
    return json.loads(result.results.tests[0].output)


# -- results --------------------------------------------------------------------------------


def test_checker_scores_the_submission_and_reports_sandbox_facts(grade: Grade) -> None:
    result = grade(
        r"""
        from downstack_harness import Grader

        g = Grader()
        run = g.run_learner(["python3", "main.py"], input=b"3 4\n")
        g.check("adds", run.stdout.strip() == b"7", max_score=2, output=run.stderr.decode())
        g.check("hidden check", True, visibility="hidden", tags=("arith",))
        g.emit()
        """,
        {"main.py": b"a, b = map(int, input().split())\nprint(a + b)\n"},
    )
    assert result.error is None, result.log
    assert result.results is not None
    assert (result.results.score, result.results.max_score) == (3, 3)
    assert [t.status for t in result.results.tests] == ["passed", "passed"]
    assert result.results.tests[1].visibility == "hidden"
    assert result.results.tests[1].tags == ("arith",)
    assert result.exit_code == 0
    assert not (result.timed_out or result.oom_killed or result.output_truncated)
    assert result.peak_memory_bytes is not None and result.peak_memory_bytes > 1 << 20
    assert result.duration_s > 0
    assert result.failure_reason() is None


def test_checker_gets_its_env_files_and_the_submission(grade: Grade) -> None:
    result = grade(
        checker(
            """
            report({
                "seed": os.environ.get("DOWNSTACK_SEED"),
                "cwd": os.getcwd(),
                "data": open("data/expected.txt").read(),
                "main": g.submission_file("main.py").decode(),
                "nested": g.submission_file("pkg/util.py").decode(),
                "missing": g.submission_file("nope.py"),
            })
            """
        ),
        {"main.py": b"print('hi')\n", "pkg/util.py": b"X = 1\n"},
        extra_checker_files={"data/expected.txt": b"42\n"},
        env={"DOWNSTACK_SEED": "1234"},
    )
    facts = observed(result)
    assert facts == {
        "seed": "1234",
        "cwd": "/run/grade/grader",
        "data": "42\n",
        "main": "print('hi')\n",
        "nested": "X = 1\n",
        "missing": None,
    }


def test_malformed_results_are_a_grader_error(grade: Grade) -> None:
    result = grade("print('this is not json')")
    assert result.results is None
    assert result.error is not None and "not valid JSON" in result.error
    assert not (result.timed_out or result.oom_killed)
    reason = result.failure_reason()
    assert reason is not None and "grader error" in reason


def test_crashing_checker_is_a_grader_error_with_its_traceback_in_the_log(grade: Grade) -> None:
    result = grade("raise RuntimeError('checker bug: expected file missing')")
    assert result.results is None
    assert result.exit_code == 1
    assert result.error is not None and "status 1" in result.error
    assert "RuntimeError: checker bug: expected file missing" in result.log


def test_results_that_break_the_contract_are_a_grader_error(grade: Grade) -> None:
    result = grade(
        """
        import json
        print(json.dumps({"tests": [{"name": "a", "score": 7, "max_score": 5}]}))
        """
    )
    assert result.results is None
    assert result.error is not None and "test 1: score 7 exceeds max_score 5" in result.error


def test_results_larger_than_the_cap_are_a_grader_error(grade: Grade) -> None:
    result = grade(
        """
        import json
        print(json.dumps({"score": 1, "max_score": 1, "output": "x" * 10000}))
        """,
        result_bytes=4096,
    )
    assert result.results is None
    assert result.error is not None and "more than 4096 bytes" in result.error
    assert not result.output_truncated


# -- isolation ------------------------------------------------------------------------------


NETWORK_PROBE = r"""
import json, os, socket, sys

def connect(host, port):
    try:
        socket.create_connection((host, port), timeout=2).close()
    except OSError as exc:
        return type(exc).__name__
    return "connected"

port = int(sys.argv[1])
print(json.dumps({
    "interfaces": sorted(os.listdir("/sys/class/net")),
    "host_loopback": connect("127.0.0.1", port),
    "docker_gateway": connect("172.17.0.1", port),
    "internet": connect("1.1.1.1", 80),
}))
"""


def test_neither_checker_nor_learner_has_a_network(grade: Grade) -> None:
    # A server on the host's loopback: reachable from any process sharing the host's
    # network, and from nothing inside a network-less container.
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        result = grade(
            checker(
                f"""
                own = subprocess.run(
                    [sys.executable, "probe.py", "{port}"], capture_output=True, check=True
                )
                run = g.run_learner(["python3", "probe.py", "{port}"], timeout_s=10)
                report({{"checker": json.loads(own.stdout), "learner": json.loads(run.stdout)}})
                """
            ),
            {"probe.py": NETWORK_PROBE.encode()},
            extra_checker_files={"probe.py": NETWORK_PROBE.encode()},
        )
    facts = observed(result)
    for who in ("checker", "learner"):
        assert facts[who]["interfaces"] == ["lo"], who
        for target in ("host_loopback", "docker_gateway", "internet"):
            assert facts[who][target] != "connected", (who, target)


def test_learner_cannot_read_the_hidden_checker_files_or_env(grade: Grade) -> None:
    snoop = r"""
import json, os
found = {}
ppid = os.getppid()
for path in ("/run/grade/grader/secret.txt", "/run/grade/grader", f"/proc/{ppid}/environ",
             "/proc/1/environ", f"/proc/{ppid}/cwd/secret.txt", f"/proc/{ppid}/fd/1"):
    try:
        if os.path.isdir(path) and not path.endswith(".txt"):
            found[path] = os.listdir(path)
        else:
            found[path] = open(path, "rb").read().decode(errors="replace")
    except OSError as exc:
        found[path] = type(exc).__name__
found["own_env"] = sorted(os.environ)
print(json.dumps(found))
"""
    result = grade(
        checker(
            """
            seen, run = learner(open("snoop.py").read())
            report({"seen": seen, "stderr": run.stderr.decode()})
            """
        ),
        extra_checker_files={"secret.txt": b"the answer is 42", "snoop.py": snoop.encode()},
        env={"DOWNSTACK_SEED": "s3cret-seed"},
    )
    facts = observed(result)
    seen = facts["seen"]
    assert seen is not None, facts["stderr"]
    own_env = seen.pop("own_env")
    assert all(value == "PermissionError" for value in seen.values()), seen
    assert "DOWNSTACK_SEED" not in own_env and "DOWNSTACK_LEARNER_UID" not in own_env
    assert "s3cret" not in json.dumps(facts) and "answer is 42" not in json.dumps(facts)


def test_learner_cannot_forge_the_result(grade: Grade) -> None:
    forge = r"""
import json, os
forged = json.dumps({"score": 100, "max_score": 100, "tests": []})
for target in ("/proc/1/fd/1", f"/proc/{os.getppid()}/fd/1", "/run/grade/results.json",
               "/run/grade/grader/results.json"):
    try:
        with open(target, "w") as handle:
            handle.write(forged)
    except OSError:
        pass
print(forged)
"""
    result = grade(
        """
        from downstack_harness import Grader

        g = Grader()
        run = g.run_learner(["python3", "forge.py"])
        g.check("prints the right answer", run.stdout.strip() == b"42", max_score=5)
        g.emit()
        """,
        {"forge.py": forge.encode()},
    )
    assert result.error is None, result.log
    assert result.results is not None
    assert (result.results.score, result.results.max_score) == (0, 5)
    assert [t.name for t in result.results.tests] == ["prints the right answer"]


def test_learner_cannot_signal_or_trace_the_checker(grade: Grade) -> None:
    attack = r"""
import ctypes, json, os, signal
outcome = {}
for name, pid in (("entry", 1), ("checker", os.getppid())):
    try:
        os.kill(pid, signal.SIGKILL)
        outcome[name] = "killed"
    except OSError as exc:
        outcome[name] = type(exc).__name__
libc = ctypes.CDLL(None, use_errno=True)
PTRACE_ATTACH = 16
outcome["ptrace"] = libc.ptrace(PTRACE_ATTACH, os.getppid(), None, None)
outcome["ptrace_errno"] = ctypes.get_errno()
print(json.dumps(outcome))
"""
    result = grade(
        checker(
            """
            seen, run = learner(open("attack.py").read())
            report({"seen": seen, "stderr": run.stderr.decode(), "checker_alive": True})
            """
        ),
        extra_checker_files={"attack.py": attack.encode()},
    )
    facts = observed(result)
    assert facts["checker_alive"]
    seen = facts["seen"]
    assert seen is not None, facts["stderr"]
    assert seen["entry"] == "PermissionError"
    assert seen["checker"] == "PermissionError"
    assert seen["ptrace"] == -1 and seen["ptrace_errno"] == errno.EPERM


# Run 1 leaves notes in every place a user may write and that outlives its process:
# files, a POSIX message queue and System V IPC objects (keys 24301 to 24303).
IPC_NOTES = r"""
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
IPC_CREAT = 0o1000
open("/dev/mqueue/learner-queue", "w").close()
made = [
    libc.shmget(24301, 4096, IPC_CREAT | 0o666),
    libc.semget(24302, 1, IPC_CREAT | 0o666),
    libc.msgget(24303, IPC_CREAT | 0o666),
]
"""
IPC_SEEN = r"""
def ipc_keys():
    keys = []
    for kind in ("shm", "sem", "msg"):
        rows = open(f"/proc/sysvipc/{kind}").read().splitlines()[1:]
        keys += [int(row.split()[0]) for row in rows]
    return sorted(key for key in keys if 24301 <= key <= 24303)
"""


def test_each_learner_run_starts_clean(grade: Grade) -> None:
    first = (
        r"""
import os, time
open("state.txt", "w").write("from run 1")
open("/tmp/learner-state", "w").write("from run 1")
os.makedirs("/dev/shm/learner-dir", exist_ok=True)
try:
    open("/run/grade/submission/main.py", "w").write("tampered")
    print("tampered")
except OSError as exc:
    print(type(exc).__name__)
"""
        + IPC_NOTES
        + IPC_SEEN
        + r"""
assert min(made) >= 0 and ipc_keys() == [24301, 24302, 24303], (made, ipc_keys())
assert os.path.exists("/dev/mqueue/learner-queue")
print("notes left")
if os.fork() == 0:
    os.setsid()  # leave the process group, as a daemon would
    if os.fork() == 0:
        time.sleep(60)
    os._exit(0)
"""
    )
    second = (
        IPC_SEEN
        + r"""
import json, os
others = []
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        status = open(f"/proc/{pid}/status").read()
    except OSError:
        continue
    uid = [line.split()[1] for line in status.splitlines() if line.startswith("Uid:")][0]
    if uid == str(os.getuid()) and int(pid) != os.getpid():
        others.append(pid)
print(json.dumps({
    "state": os.path.exists("state.txt"),
    "tmp": os.path.exists("/tmp/learner-state"),
    "shm": os.path.exists("/dev/shm/learner-dir"),
    "mqueue": os.listdir("/dev/mqueue"),
    "sysv_ipc": ipc_keys(),
    "main": open("main.py").read(),
    "other_learner_processes": others,
}))
"""
    )
    result = grade(
        checker(
            """
            _, one = learner(open("first.py").read())
            two, run = learner(open("second.py").read())
            report({"first": one.stdout.decode(), "second": two, "stderr": run.stderr.decode()})
            """
        ),
        {"main.py": b"original"},
        extra_checker_files={"first.py": first.encode(), "second.py": second.encode()},
    )
    facts = observed(result)
    assert facts["first"].splitlines() == ["PermissionError", "notes left"]
    assert facts["second"] == {
        "state": False,
        "tmp": False,
        "shm": False,
        "mqueue": [],
        "sysv_ipc": [],
        "main": "original",
        "other_learner_processes": [],
    }, facts["stderr"]


def test_root_filesystem_is_read_only_and_scratch_is_capped(grade: Grade) -> None:
    result = grade(
        checker(
            r"""
            def write(path, size):
                try:
                    with open(path, "wb") as handle:
                        handle.write(b"x" * size)
                    return "ok"
                except OSError as exc:
                    return errno.errorcode[exc.errno]

            probe = "import os\ntry:\n open('/usr/x','w')\nexcept OSError as e: print(e.errno)"
            run = g.run_learner(["python3", "-c", probe])
            report({
                "usr": write("/usr/downstack-probe", 10),
                "etc": write("/etc/passwd", 10),
                "tmp": write("/tmp/small", 10),
                "bigger_than_fsize": write("/tmp/big", 5 << 20),
                "bigger_than_tmpfs": [write(f"/run/grade/fill{i}", 3 << 20) for i in range(3)],
                "learner_usr": int(run.stdout),
            })
            """
        ),
        fsize_mb=4,
        tmpfs_mb=8,
    )
    facts = observed(result)
    assert facts["usr"] == "EROFS"
    assert facts["etc"] == "EROFS"
    assert facts["tmp"] == "ok"
    assert facts["bigger_than_fsize"] == "EFBIG"
    assert facts["bigger_than_tmpfs"] == ["ok", "ok", "ENOSPC"]
    assert facts["learner_usr"] in (errno.EROFS, errno.EACCES)


def test_container_is_locked_down_as_seen_from_inside_and_in_inspect(
    grade: Grade, docker_client: docker.DockerClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = r"""
    def status(pid="self"):
        lines = open(f"/proc/{pid}/status").read().splitlines()
        return {k: v.strip() for k, v in (l.split(":", 1) for l in lines)}

    me = status()
    code = "import json\nprint(json.dumps({l.split(':')[0]: l.split(':', 1)[1].strip() "
    code += "for l in open('/proc/self/status').read().splitlines()}))"
    them, run = learner(code)
    report({
        "checker": {k: me[k] for k in ("CapEff", "CapBnd", "NoNewPrivs", "Uid")},
        "learner": {k: them[k] for k in ("CapEff", "CapBnd", "NoNewPrivs", "Uid")},
    })
    """
    # The container's settings, read from the engine as soon as it is created: however
    # quickly the run ends, it cannot be gone before the test has looked.
    host_configs = []
    create = graders.sandbox._create

    def create_and_inspect(api, *args, **kwargs):
        container_id = create(api, *args, **kwargs)
        host_configs.append(api.inspect_container(container_id)["HostConfig"])
        return container_id

    monkeypatch.setattr(graders.sandbox, "_create", create_and_inspect)
    result = grade(checker(body), memory_mb=256)
    (host_config,) = host_configs
    assert host_config["NetworkMode"] == "none"
    assert host_config["ReadonlyRootfs"] is True
    assert host_config["CapDrop"] == ["ALL"]
    assert sorted(host_config["CapAdd"]) == sorted(CAPABILITIES)
    assert host_config["SecurityOpt"] == ["no-new-privileges"]
    assert host_config["Memory"] == host_config["MemorySwap"] == 256 << 20
    assert host_config["PidsLimit"] == 128
    assert host_config["NanoCpus"] == 1_000_000_000
    assert host_config["LogConfig"]["Type"] == "none"
    assert {u["Name"] for u in host_config["Ulimits"]} == {"nofile", "fsize"}
    assert set(host_config["Tmpfs"]) == {"/tmp", "/run/grade"}
    assert host_config["Privileged"] is False

    facts = observed(result)
    # CHOWN(0), KILL(5), SETGID(6), SETUID(7) and nothing else.
    assert facts["checker"]["CapEff"] == "00000000000000e1"
    assert facts["checker"]["CapBnd"] == "00000000000000e1"
    assert facts["checker"]["NoNewPrivs"] == "1"
    assert facts["learner"]["CapEff"] == "0000000000000000"
    assert facts["learner"]["NoNewPrivs"] == "1"
    learner_uid = int(facts["learner"]["Uid"].split()[0])
    assert LEARNER_UID_BASE <= learner_uid < LEARNER_UID_BASE + LEARNER_UID_SPAN


# -- limits ---------------------------------------------------------------------------------


def test_checker_over_the_memory_limit_is_oom_killed(grade: Grade) -> None:
    result = grade(
        """
        balloon = [bytearray(16 << 20) for _ in range(16)]  # 256 MB against 64
        print('{"score": 1, "max_score": 1}')
        """,
        memory_mb=64,
    )
    assert result.oom_killed
    assert result.results is None
    assert result.error is None
    assert result.failure_reason() == "Your program used more than 64 MB and was stopped."


def test_learner_over_its_memory_allowance_is_stopped_and_flagged(grade: Grade) -> None:
    result = grade(
        checker(
            """
            _, run = learner("b = bytearray(200 << 20)", memory_mb=64)
            report({"memory_exceeded": run.memory_exceeded, "returncode": run.returncode})
            """
        )
    )
    facts = observed(result)
    assert facts == {"memory_exceeded": True, "returncode": 1}
    assert not result.oom_killed


def test_pids_limit_caps_the_processes_in_the_container(grade: Grade) -> None:
    result = grade(
        checker(
            """
            children = 0
            try:
                while children < 100:
                    if os.fork() == 0:
                        os.close(1)  # do not hold the checker's stdout open
                        time.sleep(60)
                        os._exit(0)
                    children += 1
            except OSError as exc:
                failure = errno.errorcode[exc.errno]
            else:
                failure = None
            report({"children": children, "failure": failure})
            """
        ),
        pids=32,
    )
    facts = observed(result)
    assert facts["failure"] == "EAGAIN"
    assert facts["children"] < 32


def test_learner_fork_bomb_is_contained_and_cleaned_up(grade: Grade) -> None:
    bomb = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"
    result = grade(
        checker(
            f"""
            _, bomb = learner({bomb!r}, timeout_s=2)
            after = g.run_learner(["python3", "-c", "print('still works')"], timeout_s=60)
            report({{"timed_out": bomb.timed_out, "after": after.stdout.decode().strip()}})
            """
        ),
        cpus=1.0,
    )
    facts = observed(result)
    assert facts == {"timed_out": True, "after": "still works"}


def processes_of(uid: int) -> int:
    """How many live processes of ``uid`` the host has (runc shares the host's kernel)."""
    count = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            fields = Path(entry.path, "status").read_text().split()
        except OSError:
            continue  # it ended while we looked
        alive = fields[fields.index("State:") + 1] not in ("Z", "X")
        count += alive and fields[fields.index("Uid:") + 1] == str(uid)
    return count


def poll(condition: Callable[[], object], what: str, timeout_s: float = 120) -> object:
    """The first true value of ``condition``; the timeout is a safety net, not a measure."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"gave up after {timeout_s} s waiting for {what}")


def test_a_fork_bomb_in_one_run_does_not_starve_a_run_beside_it(
    grade: Grade, docker_client: docker.DockerClient, live_sandboxes: Live
) -> None:
    # RLIMIT_NPROC is counted per uid across the host: runs must not share a learner uid.
    bomb = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"
    bombing = threading.Thread(
        target=grade,
        args=(checker(f"learner({bomb!r}, timeout_s=600)\nreport({{}})"),),
        kwargs={"timeout_s": 900},
    )
    bomb_container = None
    bombing.start()
    try:
        # The second run starts only once the bomb holds (nearly) all its processes,
        # and the bomb is stopped only after that run, whatever the machine's speed.
        (bomb_container,) = poll(live_sandboxes, "the bombing run's container")
        env = docker_client.api.inspect_container(bomb_container)["Config"]["Env"]
        bomb_uid = int(next(e for e in env if e.startswith("DOWNSTACK_LEARNER_UID=")).split("=")[1])
        at_limit = LEARNER_PROCESSES - 8
        poll(lambda: processes_of(bomb_uid) >= at_limit, "the fork bomb to reach its limit")
        result = grade(
            checker(
                """
                code = "import subprocess\\nsubprocess.run(['true'], check=True)"
                runs = [learner(code, timeout_s=60)[1] for _ in range(3)]
                report({"ok": [r.returncode == 0 for r in runs]})
                """
            ),
            timeout_s=300,
        )
        still_bombing = processes_of(bomb_uid) >= at_limit
    finally:
        for container_id in live_sandboxes():
            if container_id == bomb_container:
                docker_client.api.kill(container_id)
        bombing.join()
    facts = observed(result)
    assert facts["ok"] == [True, True, True]
    assert still_bombing


def test_every_run_gets_its_own_learner_uid(grade: Grade) -> None:
    body = checker('report({"uid": g.learner_uid})')
    uids = {observed(grade(body))["uid"] for _ in range(3)}
    assert len(uids) == 3


def test_wall_clock_deadline_kills_the_run_and_removes_the_container(
    grade: Grade, live_sandboxes: Live
) -> None:
    # It would sleep for an hour: that the test ends at all shows the deadline killed it.
    result = grade("import time\ntime.sleep(3600)", timeout_s=2)
    assert result.timed_out
    assert result.results is None and result.error is None
    assert result.duration_s >= 2
    assert result.failure_reason() == (
        "Grading stopped after 2 s: your program ran past the time limit."
    )
    assert live_sandboxes() == []


def test_learner_past_its_own_timeout_is_killed_with_its_children(grade: Grade) -> None:
    result = grade(
        checker(
            """
            code = "import os, time\\nos.fork()\\ntime.sleep(60)"
            _, run = learner(code, timeout_s=1)
            left = []
            for pid in filter(str.isdigit, os.listdir("/proc")):
                try:
                    status = open(f"/proc/{pid}/status").read().split()
                except OSError:
                    continue
                if status[status.index("Uid:") + 1] == str(g.learner_uid):
                    left.append(pid)
            report({"timed_out": run.timed_out, "duration": run.duration_s, "left": left})
            """
        )
    )
    facts = observed(result)
    assert facts["timed_out"] is True
    assert facts["duration"] >= 1
    assert facts["left"] == []  # the program and its child


def test_run_learner_returns_only_once_the_ended_processes_are_reaped(grade: Grade) -> None:
    # A process the sweep kills is not gone until whoever adopted it reaps it: until
    # then it is a zombie of the learner's uid. Here the checker adopts the learner's
    # orphans (a child subreaper) and holds off reaping one once it has ended; had
    # run_learner returned in that window, the next thing the checker looked at would
    # still show the learner's process.
    result = grade(
        checker(
            """
            import ctypes, select
            ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
            done_r, done_w = os.pipe()
            runner = os.fork()
            if runner == 0:
                code = "import os, time\\nif os.fork() == 0:\\n os.setsid()\\n time.sleep(600)"
                g.run_learner(["python3", "-c", code], timeout_s=60)
                os.write(done_w, b"returned")
                os._exit(0)
            os.close(done_w)

            def ended_orphan():
                try:
                    found = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
                except ChildProcessError:
                    return None
                return found if found and found.si_pid != runner else None

            early = False
            while not early and ended_orphan() is None:
                early = bool(select.select([done_r], [], [], 0.05)[0])
            if not early:  # the orphan has ended; give run_learner a while to return
                early = bool(select.select([done_r], [], [], 3)[0])
            orphan = ended_orphan()
            if orphan is not None:
                os.waitpid(orphan.si_pid, 0)
            returned = os.read(done_r, 16).decode()
            os.waitpid(runner, 0)
            report({"returned_before_reaped": early, "returned": returned,
                    "orphan_ended": orphan is not None})
            """
        )
    )
    assert observed(result) == {
        "returned_before_reaped": False,
        "returned": "returned",
        "orphan_ended": True,
    }


def test_output_flood_is_cut_off_at_the_cap(grade: Grade) -> None:
    result = grade(
        """
        import sys
        chunk = "x" * (1 << 20)
        for _ in range(50):
            sys.stderr.write(chunk)
        sys.stderr.write("FLOOD-END")
        print('{"score": 1, "max_score": 1}')
        """,
        timeout_s=60,
    )
    assert result.output_truncated and not result.timed_out
    assert result.results is None
    assert result.error is not None and "more than 1048576 bytes" in result.error
    assert "FLOOD-END" not in result.log  # cut at the cap, not read to the end
    assert len(result.log) <= LOG_MAX_CHARS
    reason = result.failure_reason()
    assert reason is not None and "1 MB of output" in reason


def test_checker_flooding_stdout_is_stopped_at_the_results_cap(grade: Grade) -> None:
    result = grade(
        """
        import sys
        chunk = "x" * (1 << 20)
        for _ in range(50):
            sys.stdout.write(chunk)
        sys.stderr.write("FLOOD-END")
        """,
        timeout_s=60,
    )
    assert result.results is None and not result.timed_out
    assert result.error is not None and "more than 262144 bytes of results" in result.error
    assert "FLOOD-END" not in result.log  # stopped at the cap, not read to the end
    assert "downstack entry: the checker printed more than 262144 bytes" in result.log


# -- engine, runtimes, arguments ------------------------------------------------------------


def test_runsc_runtime_runs_a_checker(grade: Grade, docker_client: docker.DockerClient) -> None:
    if "runsc" not in (docker_client.info().get("Runtimes") or {}):
        pytest.skip("gVisor's runsc is not registered with Docker (run scripts/host-setup.sh)")
    result = grade(
        """
        from downstack_harness import Grader

        g = Grader()
        run = g.run_learner(["python3", "-c", "import os; print(os.getuid())"])
        g.check("learner runs as its own uid under gVisor", int(run.stdout) == g.learner_uid)
        g.emit()
        """,
        runtime="runsc",
        pids=32,
    )
    assert result.error is None, result.log
    assert result.results is not None and result.results.score == 1


def test_unregistered_runtime_is_an_infrastructure_error(grade: Grade) -> None:
    with pytest.raises(graders.InfrastructureError, match="not registered"):
        grade("print('{}')", runtime="no-such-runtime")


def test_missing_image_is_an_infrastructure_error_saying_how_to_build_it() -> None:
    with pytest.raises(graders.InfrastructureError) as caught:
        graders.run(image="downstack/grader-python:000000000000", checker={}, submission={})
    assert "is missing: build it with `python -m graders.images build`" in str(caught.value)


def test_unreachable_docker_is_an_infrastructure_error(tmp_path) -> None:
    # A fixed API version: the client would otherwise ask the (absent) engine for one.
    client = docker.DockerClient(base_url=f"unix://{tmp_path}/no-docker.sock", version="1.41")
    with pytest.raises(graders.InfrastructureError, match="Docker is not running"):
        graders.run(image="any", checker={}, submission={}, client=client)


def test_learner_copy_of_a_private_submission_folder_stays_reachable(grade: Grade) -> None:
    # A checker may hand run_learner a folder it made with mkdtemp (mode 0700).
    result = grade(
        checker(
            """
            import tempfile, pathlib
            private = pathlib.Path(tempfile.mkdtemp())
            (private / "sub").mkdir()
            (private / "sub" / "main.py").write_text("print('ran')")
            g.submission_dir = private
            _, run = learner("import pathlib; print(pathlib.Path('sub/main.py').read_text())")
            report({"out": run.stdout.decode().strip(), "code": run.returncode})
            """
        )
    )
    assert observed(result) == {"out": "print('ran')", "code": 0}


# -- the progress stream ------------------------------------------------------------------


class _Seen(Exception):
    """Raised by a progress callback to end the run once it has seen what it needed."""


def test_checks_reach_the_host_while_the_container_still_runs(
    grade: Grade, docker_client: docker.DockerClient, live_sandboxes: Live
) -> None:
    seen: list[graders.Progress] = []
    states: list[bool] = []

    def on_progress(progress: graders.Progress) -> None:
        seen.append(progress)
        if progress.check is not None:
            (container,) = live_sandboxes()
            states.append(docker_client.api.inspect_container(container)["State"]["Running"])
            raise _Seen

    with pytest.raises(_Seen):
        grade(
            """
            import time
            from downstack_harness import Grader

            g = Grader()
            g.running("first")
            g.check("first", True, max_score=2, output="x" * 10_000)
            time.sleep(3600)  # only the callback ends this run
            """,
            on_progress=on_progress,
        )
    assert states == [True]
    assert [p.running for p in seen] == ["first", None]
    check = seen[1].check
    assert check is not None and (check.name, check.score, check.status) == ("first", 2, "passed")
    assert len(check.output) < 10_000  # a preview; the final results carry the whole output


def test_a_time_out_keeps_the_checks_streamed_before_it(grade: Grade) -> None:
    seen: list[graders.Progress] = []
    # The deadline is far above the second these checks take, so they are made before it.
    result = grade(
        """
        import time
        from downstack_harness import Grader

        g = Grader()
        g.check("compiles", True)
        g.check("visible case", False, score=0.5, max_score=2)
        g.running("hidden case 1")
        time.sleep(3600)
        """,
        on_progress=seen.append,
        timeout_s=15,
    )
    assert result.timed_out and result.results is None and result.error is None
    assert [(t.name, t.score, t.max_score) for t in result.streamed] == [
        ("compiles", 1, 1),
        ("visible case", 0.5, 2),
    ]
    assert result.running == "hidden case 1"
    assert len(seen) == 3


def test_a_finished_run_streams_exactly_its_checks(grade: Grade) -> None:
    seen: list[graders.Progress] = []
    result = grade(
        """
        from downstack_harness import Grader

        g = Grader()
        for number in range(5):
            g.check(f"case {number}", number % 2 == 0, visibility="hidden" if number else "visible")
        g.emit()
        """,
        on_progress=seen.append,
    )
    assert result.error is None and result.results is not None, result.log
    assert [p.check for p in seen] == list(result.streamed)
    assert [(t.name, t.status, t.visibility) for t in result.streamed] == [
        (t.name, t.status, t.visibility) for t in result.results.tests
    ]


def test_results_that_withdraw_a_streamed_pass_are_a_grader_error(grade: Grade) -> None:
    result = grade(
        """
        import json
        from downstack_harness import Grader

        g = Grader()
        g.check("a", True)
        print(json.dumps({"tests": [{"name": "a", "score": 0, "max_score": 1}]}))
        """
    )
    assert result.results is None
    assert result.error == (
        "grader error: check 1 was streamed as 'a' passed 1/1 (visible) but the results "
        "say 'a' failed 0/1 (visible)"
    )


def test_results_that_leave_out_a_declared_check_are_a_grader_error(grade: Grade) -> None:
    result = grade(
        """
        from downstack_harness import Grader

        g = Grader()
        g.expect("a")
        g.expect("b", max_score=2)
        g.check("a", True)
        g.emit()
        """
    )
    assert result.results is None
    assert result.error == (
        "grader error: the checker declared check 'b' (2 points, visible) but its results "
        "hold no such check"
    )


@pytest.mark.parametrize(
    ("written", "message"),
    [
        (b"12 not a frame", "grader error: the checker's progress stream is not framed"),
        (
            b"2\n[]",
            "grader error: invalid progress from the checker: progress record 1 must "
            'be an object with one key, "check", "running" or "expect"',
        ),
        (b'9\n{"check"', "grader error: the checker's progress stream ends inside a record"),
        (b"40000\n" + b" " * 40000, "grader error: the checker streamed more than 4096 bytes"),
    ],
)
def test_a_checker_that_streams_garbage_gets_a_grader_error(
    grade: Grade, written: bytes, message: str
) -> None:
    result = grade(
        f"""
        import os
        from downstack_harness import Grader

        g = Grader()
        fd = int(os.environ["DOWNSTACK_PROGRESS_FD"])
        os.write(fd, {written!r})
        os.close(fd)
        g.check("fine", True)
        g.emit()
        """,
        result_bytes=4096,
    )
    assert result.results is None
    assert result.error is not None and result.error.startswith(message), result.error


def test_learner_programs_cannot_write_progress(grade: Grade) -> None:
    # The abuse suite's attack: frames on its own streams, a record on every descriptor
    # number, and on every process's descriptors through /proc.
    forge = (Path(__file__).parents[1] / "abuse" / "attacks" / "forge_progress.py").read_text()
    seen: list[graders.Progress] = []
    result = grade(
        checker(
            f"_, run = learner({forge!r})\n"
            "report(json.loads(run.stderr.splitlines()[-1])['observed'])"
        ),
        on_progress=seen.append,
    )
    attempts = observed(result)
    assert any(target.startswith("/proc/1/fd") for target in attempts), attempts
    assert attempts and "written" not in attempts.values(), attempts
    assert [p.check.name for p in seen if p.check] == ["observed"]
