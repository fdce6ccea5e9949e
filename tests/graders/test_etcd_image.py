"""The python-etcd grader image: a real etcd member runs in the sandbox, on loopback only."""

from __future__ import annotations

import docker
import pytest

import graders
from graders.images import builder
from tests.graders.conftest import TEST_RUN_ENV

# Starts one member on loopback ports, waits for its v3 JSON gateway, writes a key and
# reads it back: what the split-brain lab's checker builds its cluster from. etcd
# preallocates a 64 MB write-ahead log, so the run needs more scratch space (and a larger
# largest file) than the defaults: lab.toml's scratch_mb.
CHECK = r"""
import base64, json, subprocess, tempfile, time, urllib.request
from downstack_harness import Grader

g = Grader()
data = tempfile.mkdtemp()
member = subprocess.Popen(
    ["etcd", "--name", "m1", "--data-dir", data,
     "--listen-client-urls", "http://127.0.0.1:23790",
     "--advertise-client-urls", "http://127.0.0.1:23790",
     "--listen-peer-urls", "http://127.0.0.1:23800",
     "--initial-advertise-peer-urls", "http://127.0.0.1:23800",
     "--initial-cluster", "m1=http://127.0.0.1:23800"],
    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

def call(path, body):
    request = urllib.request.Request("http://127.0.0.1:23790" + path, json.dumps(body).encode())
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.load(response)

b64 = lambda text: base64.b64encode(text.encode()).decode()
value = error = None
for _ in range(600):
    try:
        call("/v3/kv/put", {"key": b64("leader"), "value": b64("replica-a")})
        kvs = call("/v3/kv/range", {"key": b64("leader")})["kvs"]
        value = base64.b64decode(kvs[0]["value"]).decode()
        break
    except OSError as exc:
        error = exc
        if member.poll() is not None:
            break
        time.sleep(0.1)
member.terminate()
log = member.communicate()[1].decode(errors="replace")
shown = repr(value) if value else f"{error}\n{log[-3000:]}"
g.check("etcd answers on loopback", value == "replica-a", output=shown)
g.emit()
"""


@pytest.mark.docker
def test_an_etcd_member_runs_in_the_sandbox_and_takes_a_write(
    docker_client: docker.DockerClient, run_marker: str
) -> None:
    image = builder.build(family="python-etcd", source="offline", client=docker_client)
    result = graders.run(
        image=image,
        checker={"check.py": CHECK.encode()},
        submission={},
        limits=graders.Limits(timeout_s=120, memory_mb=512, pids=256, tmpfs_mb=128, fsize_mb=128),
        env={TEST_RUN_ENV: run_marker},
        client=docker_client,
    )
    assert result.results is not None, (result.error, result.log)
    assert [(t.name, t.status, t.output) for t in result.results.tests] == [
        ("etcd answers on loopback", "passed", "'replica-a'")
    ], result.log
