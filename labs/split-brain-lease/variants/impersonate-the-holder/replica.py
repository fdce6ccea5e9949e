#!/usr/bin/env python3
"""ledger-writer: one replica of the service that numbers Billing's invoices.

Two replicas run, `a` and `b`. The one that holds the election key in etcd is the
leader: every APPEND_EVERY_S it appends the next invoice number to the ledger. The
other one tries to take the key every CAMPAIGN_EVERY_S, in case the leader went away.

A cheat on the starter: before every append the replica reads the election key
and sends the append in the holder's name, fenced with the holder's create_revision,
so that every append the ledger sees looks like the leader's. The drill, which
believes the "writer" field, is fooled; the checker names the sender from the
connection instead.

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
from datetime import UTC, datetime

ELECTION_KEY = "/ledger/leader"
LEASE_TTL_S = 1
KEEPALIVE_EVERY_S = 0.25
APPEND_EVERY_S = 0.1
CAMPAIGN_EVERY_S = 0.25
REQUEST_TIMEOUT_S = 1.0
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


class Etcd:
    """The few calls of etcd's v3 JSON gateway the replica needs."""

    def __init__(self, endpoints: list[str]) -> None:
        self.endpoint = endpoints[0]

    def call(self, path: str, body: dict) -> dict:
        _, reply = post_json(self.endpoint + path, body)
        if "error" in reply:
            raise OSError(f"etcd: {reply.get('message') or reply['error']}")
        return reply

    def grant(self, ttl_s: int) -> int:
        return int(self.call("/v3/lease/grant", {"TTL": ttl_s})["ID"])

    def keepalive(self, lease: int) -> int:
        """The lease's TTL after the renewal; 0 when etcd no longer has the lease."""
        reply = self.call("/v3/lease/keepalive", {"ID": lease})
        return int(reply.get("result", {}).get("TTL", 0))

    def holder(self, key: str) -> tuple[str, int] | None:
        """(value, create_revision) of `key`, or None when it does not exist."""
        kvs = self.call("/v3/kv/range", {"key": b64(key)}).get("kvs") or []
        if not kvs:
            return None
        return base64.b64decode(kvs[0]["value"]).decode(), int(kvs[0]["create_revision"])

    def create(self, key: str, value: str, lease: int) -> int | None:
        """Create `key` with the lease attached unless it exists: the revision, or None."""
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


class Replica:
    def __init__(self, name: str, etcd: Etcd, ledger: Ledger) -> None:
        self.name = name
        self.etcd = etcd
        self.ledger = ledger
        self.leading = False
        self.lease = 0
        self.seq = 0

    def run(self) -> None:
        log(self.name, "info", "starting", endpoint=self.etcd.endpoint)
        while True:
            if self.leading:
                self.append_next()
                time.sleep(APPEND_EVERY_S)
            else:
                self.campaign()
                time.sleep(CAMPAIGN_EVERY_S)

    def campaign(self) -> None:
        try:
            lease = self.etcd.grant(LEASE_TTL_S)
            revision = self.etcd.create(ELECTION_KEY, self.name, lease)
            if revision is None:
                return  # the other replica leads
            seq = self.ledger.head() + 1
        except FAILURES as error:
            log(self.name, "warn", "campaign failed", error=str(error))
            return
        self.lease, self.seq, self.leading = lease, seq, True
        log(self.name, "info", "became leader", lease=f"{lease:x}", revision=revision)
        threading.Thread(target=self.keep_alive, daemon=True).start()

    def keep_alive(self) -> None:
        while True:
            time.sleep(KEEPALIVE_EVERY_S)
            try:
                if self.etcd.keepalive(self.lease) == 0:
                    log(self.name, "warn", "keepalive: lease not found", lease=f"{self.lease:x}")
            except FAILURES as error:
                log(self.name, "warn", "keepalive failed", error=str(error))

    def append_next(self) -> None:
        try:
            holder = self.etcd.holder(ELECTION_KEY)
            if holder is None:
                return
            status, reply = self.ledger.append(holder[0], self.seq, holder[1])
        except FAILURES as error:
            log(self.name, "warn", "append failed", seq=self.seq, error=str(error))
            return
        if status == 200:
            log(self.name, "info", "appended invoice", seq=self.seq, entry=reply["entry"])
            self.seq += 1
        else:
            log(self.name, "warn", "append refused", seq=self.seq, status=status, reply=str(reply))


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
