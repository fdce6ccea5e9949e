#!/usr/bin/env python3
"""ledger-writer: one replica of the service that numbers Billing's invoices.

Two replicas run, `a` and `b`. The one that holds the election key in etcd is the
leader: every APPEND_EVERY_S it appends the next invoice number to the ledger. The
other one tries to take the key every CAMPAIGN_EVERY_S, in case the leader went away.

Another correct approach: no local lease clock. Before every append the replica
asks etcd (a linearizable read) whether the election key still names it at the
revision it created; if not, it steps down. The read cannot see a pause that comes
between it and the append, so every append still carries the key's create_revision
as its fencing token, and a refusal from the ledger makes it step down too.

    python3 replica.py --name a --etcd http://127.0.0.1:2379,http://127.0.0.1:22379,\
http://127.0.0.1:32379 --ledger http://127.0.0.1:7070

It logs to stderr, one line per event.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime

ELECTION_KEY = "/ledger/leader"
LEASE_TTL_S = 1
KEEPALIVE_EVERY_S = 0.25
APPEND_EVERY_S = 0.1
CAMPAIGN_EVERY_S = 0.25
REQUEST_TIMEOUT_S = 0.5
# What one HTTP exchange can fail with: refused, reset, timed out, a broken reply.
FAILURES = (OSError, http.client.HTTPException, ValueError)


def log(name: str, level: str, msg: str, **fields: object) -> None:
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    extra = "".join(
        f" {key}={json.dumps(value) if isinstance(value, str) and ' ' in value else value}"
        for key, value in fields.items()
    )
    print(f'{now} replica={name} level={level} msg="{msg}"{extra}', file=sys.stderr, flush=True)


def post_json(url: str, body: dict | None = None) -> tuple[int, dict]:
    """(HTTP status, JSON reply) of a POST (or a GET when body is None)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read() or b"{}")


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


class EtcdUnavailable(Exception):
    """No member could answer."""


class Etcd:
    """etcd's v3 JSON gateway on every member: a call that fails on one member (down for
    its upgrade, or without a leader) is tried on the next."""

    def __init__(self, endpoints: list[str]) -> None:
        self.endpoints = endpoints
        self.preferred = 0

    def call(self, path: str, body: dict) -> dict:
        problems = []
        for step in range(len(self.endpoints)):
            index = (self.preferred + step) % len(self.endpoints)
            try:
                _, reply = post_json(self.endpoints[index] + path, body)
            except FAILURES as error:
                problems.append(f"{self.endpoints[index]}: {error}")
                continue
            if "error" in reply and "header" not in reply:
                problems.append(
                    f"{self.endpoints[index]}: {reply.get('message') or reply['error']}"
                )
                continue
            self.preferred = index
            return reply
        raise EtcdUnavailable("; ".join(problems))

    def grant(self, ttl_s: int) -> tuple[int, int]:
        reply = self.call("/v3/lease/grant", {"TTL": ttl_s})
        return int(reply["ID"]), int(reply["TTL"])

    def holds(self, key: str, value: str, revision: int) -> bool:
        """Whether `key` exists now with `value`, created at `revision`."""
        kvs = self.call("/v3/kv/range", {"key": b64(key)}).get("kvs") or []
        return bool(kvs) and (
            base64.b64decode(kvs[0].get("value", "")).decode() == value
            and int(kvs[0]["create_revision"]) == revision
        )

    def keepalive(self, lease: int) -> int:
        """The lease's TTL after the renewal; 0 when etcd no longer has the lease."""
        reply = self.call("/v3/lease/keepalive", {"ID": lease})
        return int(reply.get("result", {}).get("TTL", 0))

    def revoke(self, lease: int) -> None:
        self.call("/v3/lease/revoke", {"ID": lease})

    def create(self, key: str, value: str, lease: int) -> int | None:
        """Create `key` with the lease attached unless it exists: the key's create_revision
        (our fencing token), or None when another replica holds it."""
        reply = self.call(
            "/v3/kv/txn",
            {
                "compare": [{"target": "CREATE", "key": b64(key), "createRevision": 0}],
                "success": [{"requestPut": {"key": b64(key), "value": b64(value), "lease": lease}}],
            },
        )
        return int(reply["header"]["revision"]) if reply.get("succeeded") else None


class Ledger:
    def __init__(self, url: str) -> None:
        self.url = url

    def head(self) -> int:
        return int(post_json(self.url + "/head")[1]["seq"])

    def append(self, writer: str, seq: int, fence: int) -> tuple[int, dict]:
        return post_json(self.url + "/append", {"writer": writer, "seq": seq, "fence": fence})


@dataclass
class Term:
    """One stretch of leadership: our lease and our fencing token."""

    lease: int
    revision: int
    seq: int


class Replica:
    def __init__(self, name: str, etcd: Etcd, ledger: Ledger) -> None:
        self.name = name
        self.etcd = etcd
        self.ledger = ledger
        self.lock = threading.Lock()
        self.term: Term | None = None

    def run(self) -> None:
        log(self.name, "info", "starting", endpoints=",".join(self.etcd.endpoints))
        while True:
            term = self.term
            if term is None:
                self.campaign()
                time.sleep(CAMPAIGN_EVERY_S)
            else:
                self.append_next(term)
                time.sleep(APPEND_EVERY_S)

    def campaign(self) -> None:
        try:
            lease, _ = self.etcd.grant(LEASE_TTL_S)
            revision = self.etcd.create(ELECTION_KEY, self.name, lease)
            if revision is None:
                self.etcd.revoke(lease)  # the other replica leads; do not leave it lying
                return
            seq = self.ledger.head() + 1
        except (EtcdUnavailable, *FAILURES) as error:
            log(self.name, "warn", "campaign failed", error=str(error))
            return
        term = Term(lease, revision, seq)
        with self.lock:
            self.term = term
        log(self.name, "info", "became leader", lease=f"{lease:x}", revision=revision)
        threading.Thread(target=self.keep_alive, args=(term,), daemon=True).start()

    def step_down(self, term: Term, reason: str) -> None:
        with self.lock:
            if self.term is not term:
                return
            self.term = None
        log(self.name, "info", "stepped down", reason=reason, revision=term.revision)
        try:
            self.etcd.revoke(term.lease)  # lets the other replica take over at once
        except (EtcdUnavailable, *FAILURES):
            pass  # the lease expires by itself

    def keep_alive(self, term: Term) -> None:
        while self.term is term:
            time.sleep(KEEPALIVE_EVERY_S)
            try:
                ttl = self.etcd.keepalive(term.lease)
            except EtcdUnavailable as error:
                log(self.name, "warn", "keepalive failed", error=str(error))
                continue
            if ttl <= 0:
                self.step_down(term, "etcd no longer has our lease")
                return

    def append_next(self, term: Term) -> None:
        try:
            if not self.etcd.holds(ELECTION_KEY, self.name, term.revision):
                self.step_down(term, "the election key is no longer ours")
                return
        except EtcdUnavailable as error:
            log(self.name, "warn", "cannot check the election key", error=str(error))
            return
        try:
            status, reply = self.ledger.append(self.name, term.seq, term.revision)
        except FAILURES as error:
            log(self.name, "warn", "append failed", seq=term.seq, error=str(error))
            return
        if status == 200:
            log(self.name, "info", "appended invoice", seq=term.seq, entry=reply["entry"])
            term.seq += 1
        elif status == 409:
            self.step_down(term, f"the ledger has seen fence {reply.get('fence')}")
        else:
            log(self.name, "warn", "append refused", seq=term.seq, status=status, reply=str(reply))


def shut_down(name: str) -> None:
    log(name, "info", "shutting down", signal="SIGTERM")
    sys.exit(0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--name", required=True, help="this replica's name: a or b")
    parser.add_argument("--etcd", required=True, help="etcd client URLs, comma-separated")
    parser.add_argument("--ledger", required=True, help="the ledger's URL")
    args = parser.parse_args()
    endpoints = [url.strip() for url in args.etcd.split(",") if url.strip()]
    signal.signal(signal.SIGTERM, lambda *_: shut_down(args.name))
    Replica(args.name, Etcd(endpoints), Ledger(args.ledger)).run()


if __name__ == "__main__":
    main()
