"""Three etcd members on loopback ports, and the few gateway calls the drill makes itself.

The drill runs a real three-member cluster the way etcd's own Procfile does for local
development (client ports 2379, 22379 and 32379, peer ports 2380, 22380 and 32380), with
the timing flags below, and restarts the members one at a time as a rolling upgrade
does. `fake_etcd.py` offers the same methods for machines without etcd.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

MEMBERS = ("m1", "m2", "m3")
CLIENT_PORTS = {"m1": 2379, "m2": 22379, "m3": 32379}
PEER_PORTS = {"m1": 2380, "m2": 22380, "m3": 32380}
# Fast elections on loopback; with these etcd's shortest lease TTL is one second.
TIMING_FLAGS = ("--heartbeat-interval", "50", "--election-timeout", "500")
CLUSTER_TOKEN = "ledger-drill"
ELECTION_KEY = "/ledger/leader"
# A request to a member that is down fails at once; one to a member without a leader
# waits, so every call the drill makes is bounded.
REQUEST_TIMEOUT_S = 1.0
STOP_TIMEOUT_S = 10.0
# Errors of one HTTP exchange with a member: refused, reset, timed out, not JSON.
EXCHANGE_ERRORS = (OSError, ValueError)


class EtcdUnavailable(Exception):
    """No member answered the request."""


def client_url(member: str) -> str:
    return f"http://127.0.0.1:{CLIENT_PORTS[member]}"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def unb64(text: str) -> str:
    return base64.b64decode(text).decode(errors="replace")


def post(url: str, path: str, body: dict, timeout_s: float = REQUEST_TIMEOUT_S) -> dict:
    """One call to a member's v3 JSON gateway; its JSON reply, errors (4xx/5xx) included."""
    request = urllib.request.Request(
        url + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return json.loads(error.read() or b"{}")


@dataclass(frozen=True)
class Holder:
    """Who held the election key at one moment: its value, revision and lease."""

    value: str
    create_revision: int
    lease: int


def read_holder(urls: Sequence[str], key: str = ELECTION_KEY) -> Holder | None:
    """The election key as a linearizable read sees it, from the first member that
    answers; None when the key does not exist."""
    for url in urls:
        try:
            reply = post(url, "/v3/kv/range", {"key": b64(key)})
        except EXCHANGE_ERRORS:
            continue
        if "header" not in reply:
            continue  # an error such as "no leader": ask the next member
        kvs = reply.get("kvs") or []
        if not kvs:
            return None
        kv = kvs[0]
        return Holder(
            value=unb64(kv.get("value", "")),
            create_revision=int(kv.get("create_revision", 0)),
            lease=int(kv.get("lease", 0)),
        )
    raise EtcdUnavailable(f"no etcd member answered a read of {key}")


def wipe(urls: Sequence[str]) -> None:
    """Delete every key and revoke every lease, so that a run starts from nothing."""
    for url in urls:
        try:
            reply = post(url, "/v3/kv/deleterange", {"key": b64("\0"), "range_end": b64("\0")})
            if "header" not in reply:
                continue
            leases = post(url, "/v3/lease/leases", {}).get("leases") or []
            for lease in leases:
                post(url, "/v3/lease/revoke", {"ID": lease["ID"]})
            return
        except EXCHANGE_ERRORS:
            continue
    raise EtcdUnavailable("no etcd member answered while clearing the cluster")


class EtcdMembers:
    """A real three-member etcd cluster on this machine; one member can be down at a time.

    `launcher` is put before the etcd command line (the checker uses it to run etcd
    under a small wrapper); `data_root` holds one data directory per member.
    """

    def __init__(
        self, data_root: Path, *, binary: str = "etcd", launcher: Sequence[str] = ()
    ) -> None:
        self.data_root = data_root
        self.binary = binary
        self.launcher = tuple(launcher)
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.logs: dict[str, object] = {}

    @property
    def urls(self) -> list[str]:
        return [client_url(member) for member in MEMBERS]

    def up_urls(self) -> list[str]:
        return [client_url(member) for member in MEMBERS if self.is_running(member)]

    def is_running(self, member: str) -> bool:
        process = self.processes.get(member)
        return process is not None and process.poll() is None

    def command(self, member: str, state: str) -> list[str]:
        cluster = ",".join(f"{m}=http://127.0.0.1:{PEER_PORTS[m]}" for m in MEMBERS)
        peer, client = f"http://127.0.0.1:{PEER_PORTS[member]}", client_url(member)
        return [
            *self.launcher,
            self.binary,
            "--name", member,
            "--data-dir", str(self.data_root / member),
            "--listen-peer-urls", peer,
            "--initial-advertise-peer-urls", peer,
            "--listen-client-urls", client,
            "--advertise-client-urls", client,
            "--initial-cluster", cluster,
            "--initial-cluster-state", state,
            "--initial-cluster-token", CLUSTER_TOKEN,
            *TIMING_FLAGS,
        ]  # fmt: skip

    def start_all(self, timeout_s: float = 30.0) -> None:
        """A fresh cluster: empty data directories, three members, a leader."""
        shutil.rmtree(self.data_root, ignore_errors=True)
        self.data_root.mkdir(parents=True)
        for member in MEMBERS:
            self._spawn(member, "new")
        deadline = time.monotonic() + timeout_s
        for member in MEMBERS:
            if not self.wait_healthy(member, deadline - time.monotonic()):
                raise EtcdUnavailable(
                    f"etcd member {member} did not become healthy within {timeout_s:g} s; "
                    f"the end of {self.data_root / (member + '.log')}:\n{self.log_tail(member)}"
                )

    def stop(self, member: str) -> None:
        """Stop a member as an upgrade does (SIGTERM, then wait)."""
        process = self.processes.pop(member, None)
        if process is None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def start(self, member: str) -> None:
        """Start a stopped member again on its data directory."""
        if not self.is_running(member):
            self._spawn(member, "existing")

    def healthy(self, member: str) -> bool:
        try:
            with urllib.request.urlopen(
                client_url(member) + "/health", timeout=REQUEST_TIMEOUT_S
            ) as response:
                return json.loads(response.read()).get("health") == "true"
        except EXCHANGE_ERRORS:
            return False

    def wait_healthy(self, member: str, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.is_running(member) and self.healthy(member):
                return True
            time.sleep(0.05)
        return False

    def leader(self) -> str | None:
        """The member that leads the cluster now, as the members report it."""
        ids: dict[str, str] = {}
        leader_id = None
        for member in MEMBERS:
            if not self.is_running(member):
                continue
            try:
                status = post(client_url(member), "/v3/maintenance/status", {})
            except EXCHANGE_ERRORS:
                continue
            if "header" in status:
                ids[status["header"]["member_id"]] = member
                leader_id = status.get("leader", leader_id)
        return ids.get(leader_id) if leader_id else None

    def log_tail(self, member: str, lines: int = 8) -> str:
        try:
            text = (self.data_root / f"{member}.log").read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def close(self) -> None:
        for member in list(self.processes):
            self.stop(member)
        for log in self.logs.values():
            log.close()

    def _spawn(self, member: str, state: str) -> None:
        log = self.logs.get(member)
        if log is None:
            log = self.logs[member] = open(self.data_root / f"{member}.log", "ab")  # noqa: SIM115
        self.processes[member] = subprocess.Popen(
            self.command(member, state),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        )
