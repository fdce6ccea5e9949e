#!/usr/bin/env python3
"""Replays your seed's ledger-writer incident: the files the on-call engineers had.

    python3 incident.py --seed YOUR_SEED     # writes incident-YOUR_SEED/

The replay is a simulation of that night: the two replicas running the starter's
replica.py (its timings, its log lines), the three-member etcd cluster being upgraded
one member at a time, the faults at the times they happened. The same seed always gives
the same files:

  timeline.md      the upgrade's change record and the on-call's notes
  replica-a.log    replica a's log (its stderr, as journald kept it)
  replica-b.log    replica b's log
  ledger.jsonl     every append the ledger accepted: time, client, request, entry
  etcd-watch.log   the dashboard's `etcdctl watch --prefix /ledger/ -w json`, each line
                   prefixed with the time it arrived (piped through `ts`)
"""

from __future__ import annotations

import argparse
import base64
import heapq
import itertools
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

# The starter's replica.py, in milliseconds.
LEASE_TTL_MS = 1000
KEEPALIVE_EVERY_MS = 250
APPEND_EVERY_MS = 100
CAMPAIGN_EVERY_MS = 250
REQUEST_TIMEOUT_MS = 1000
# etcd: how often the leader looks for expired leases, and how long an election takes.
LESSOR_EVERY_MS = 500
ELECTION_MS = (300, 800)
MEMBERS = {"m1": "10.0.4.21", "m2": "10.0.4.22", "m3": "10.0.4.23"}
REPLICAS = {"a": "10.0.4.11", "b": "10.0.4.12"}
FIRST_ENDPOINT = {"a": "m1", "b": "m2"}  # the starter uses only the first of its list
ELECTION_KEY = "/ledger/leader"
REFUSED = "<urlopen error [Errno 111] Connection refused>"
TIMED_OUT = "timed out"
# No append lands this close to a change of the election key, so that which side of
# the change it fell on can always be read from the timestamps.
CLEAR_OF_KEY_EVENTS_MS = 5
# Each incident has this many handovers of the key (each one, with the starter's
# replicas, an overlap); a seed whose night has another number, or an append too close
# to a change of the key, is drawn again with a fresh stream.
HANDOVERS_WANTED = (2, 3)


class Unavailable(Exception):
    """The replica's etcd request failed; the message is what its log shows."""


@dataclass
class Lease:
    id: int
    expires_ms: int


@dataclass
class Etcd:
    rng: random.Random
    leader: str | None
    revision: int
    member_ids: dict[str, int]
    up: dict[str, bool] = field(default_factory=lambda: dict.fromkeys(MEMBERS, True))
    key: dict | None = None  # the election key: value, create_revision, lease
    leases: dict[int, Lease] = field(default_factory=dict)
    next_lease: int = 0
    term: int = 4
    watch: list[dict] = field(default_factory=list)  # key events: at_ms, type, kv

    def reachable(self, member: str) -> None:
        if not self.up[member]:
            raise Unavailable(REFUSED)
        if self.leader is None:
            raise Unavailable(TIMED_OUT)

    def bump(self) -> int:
        self.revision += 1
        return self.revision

    def grant(self, now: int) -> int:
        self.next_lease += self.rng.randrange(1, 4)
        lease = Lease(self.next_lease, now + LEASE_TTL_MS)
        self.leases[lease.id] = lease
        return lease.id

    def renew(self, lease_id: int, now: int) -> int:
        lease = self.leases.get(lease_id)
        if lease is None or lease.expires_ms <= now:
            return 0
        lease.expires_ms = now + LEASE_TTL_MS
        return LEASE_TTL_MS // 1000

    def create(self, value: str, lease_id: int, now: int) -> int | None:
        if self.key is not None:
            return None
        revision = self.bump()
        self.key = {"value": value, "create_revision": revision, "lease": lease_id}
        self.watch.append(
            {
                "at_ms": now + self.rng.randrange(1, 4),
                "type": "PUT",
                "revision": revision,
                "term": self.term,
                **self.key,
            }
        )
        return revision

    def expire_leases(self, now: int) -> None:
        for lease in [lease for lease in self.leases.values() if lease.expires_ms <= now]:
            del self.leases[lease.id]
            if self.key is not None and self.key["lease"] == lease.id:
                revision = self.bump()
                self.watch.append(
                    {
                        "at_ms": now + self.rng.randrange(1, 4),
                        "type": "DELETE",
                        "revision": revision,
                        "term": self.term,
                    }
                )
                self.key = None

    def elect(self, now: int) -> None:
        """A new leader: it extends every lease by a TTL, as etcd's lessor does."""
        candidates = [member for member, up in self.up.items() if up]
        self.leader = self.rng.choice(candidates)
        self.term += 1
        for lease in self.leases.values():
            lease.expires_ms = max(lease.expires_ms, now + LEASE_TTL_MS)


@dataclass
class Replica:
    name: str
    running: bool = False
    leading: bool = False
    paused_until: int = 0
    lease: int = 0
    seq: int = 0
    generation: int = 0  # bumped by each restart, so the old process's timers stop
    log: list[tuple[int, str, str, dict]] = field(default_factory=list)
    beliefs: list[list[int]] = field(default_factory=list)  # [became leader, stopped]

    @property
    def endpoint(self) -> str:
        return FIRST_ENDPOINT[self.name]

    def say(self, now: int, level: str, msg: str, **fields: object) -> None:
        self.log.append((now, level, msg, fields))


@dataclass
class Incident:
    """The simulated night: what the artefacts are rendered from."""

    seed: int
    start: datetime
    end_ms: int
    replicas: dict[str, Replica]
    ledger: list[dict]  # entry, at_ms, writer, seq, client
    watch: list[dict]
    notes: list[tuple[int, str]]  # the on-call's timeline, to the second
    member_ids: dict[str, int]
    cluster_id: int

    def time(self, at_ms: int) -> str:
        return iso(self.start + timedelta(milliseconds=at_ms))


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Night:
    """The discrete-event simulation of one night, in milliseconds from its start."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.now = 0
        self.queue: list[tuple[int, int, Callable[[], None]]] = []
        self.order = itertools.count()
        member_ids = {member: rng.getrandbits(63) for member in MEMBERS}
        self.etcd = Etcd(rng, rng.choice(list(MEMBERS)), rng.randrange(3000, 9000), member_ids)
        self.etcd.next_lease = rng.getrandbits(62) | (1 << 61)
        self.replicas = {name: Replica(name) for name in REPLICAS}
        self.ledger: list[dict] = []
        self.first_entry = rng.randrange(400, 4000)
        self.notes: list[tuple[int, str]] = []
        self.paged_for: set[str] = set()
        self.pause: tuple[str, int, int] | None = None  # who, when, how long

    # -- the engine ---------------------------------------------------------------------

    def at(self, when: int, action: Callable[[], None]) -> None:
        heapq.heappush(self.queue, (when, next(self.order), action))

    def run_until(self, end_ms: int) -> None:
        while self.queue and self.queue[0][0] <= end_ms:
            self.now, _, action = heapq.heappop(self.queue)
            action()

    def jitter(self, low: int = 1, high: int = 4) -> int:
        return self.rng.randrange(low, high)

    # -- etcd ---------------------------------------------------------------------------

    def lessor(self) -> None:
        if self.etcd.leader is not None:
            self.etcd.expire_leases(self.now)
        self.at(self.now + LESSOR_EVERY_MS, self.lessor)

    def other_traffic(self) -> None:
        """Other services write to the cluster too: revisions move on between ours."""
        if self.etcd.leader is not None:
            self.etcd.bump()
        self.at(self.now + self.rng.randrange(150, 450), self.other_traffic)

    def stop_member(self, member: str, down_ms: int) -> None:
        self.etcd.up[member] = False
        self.notes.append((self.now, f"{member}: `systemctl stop etcd`, upgrading the package"))
        if self.etcd.leader == member:
            self.etcd.leader = None
            self.at(self.now + self.rng.randrange(*ELECTION_MS), lambda: self.etcd.elect(self.now))
        self.at(self.now + down_ms, lambda: self.start_member(member))

    def start_member(self, member: str) -> None:
        self.etcd.up[member] = True
        self.notes.append((self.now, f"{member}: `systemctl start etcd`, member healthy"))

    # -- the replicas -------------------------------------------------------------------

    def start_replica(self, name: str) -> None:
        replica = self.replicas[name]
        replica.running, replica.leading = True, False
        replica.generation += 1
        replica.say(
            self.now, "info", "starting", endpoint=f"http://{MEMBERS[replica.endpoint]}:2379"
        )
        self.every(replica, self.jitter(2, 60), self.main_loop)

    def stop_replica(self, name: str, restart_after_ms: int) -> None:
        replica = self.replicas[name]
        replica.say(self.now, "info", "shutting down", signal="SIGTERM")
        if replica.leading:
            replica.beliefs[-1][1] = self.now
        replica.running = replica.leading = False
        replica.generation += 1
        self.at(self.now + restart_after_ms, lambda: self.start_replica(name))

    def every(self, replica: Replica, delay: int, loop: Callable[[Replica], int]) -> None:
        """Run `loop` after `delay`, and again after the delay it returns, for as long
        as this process of the replica lives; a paused process runs late, on resume."""
        generation = replica.generation

        def tick() -> None:
            if replica.generation != generation or not replica.running:
                return
            if self.now < replica.paused_until:
                self.at(replica.paused_until + self.jitter(), tick)
                return
            next_delay = loop(replica)
            if next_delay:
                self.at(self.now + next_delay, tick)

        self.at(self.now + delay, tick)

    def main_loop(self, replica: Replica) -> int:
        if replica.leading:
            self.append(replica)
            return APPEND_EVERY_MS + self.jitter(0, 3)
        try:
            self.etcd.reachable(replica.endpoint)
        except Unavailable as error:
            replica.say(self.now, "warn", "campaign failed", error=str(error))
            spent = REQUEST_TIMEOUT_MS if str(error) == TIMED_OUT else self.jitter()
            return spent + CAMPAIGN_EVERY_MS
        lease = self.etcd.grant(self.now)
        revision = self.etcd.create(replica.name, lease, self.now)
        if revision is None:
            return CAMPAIGN_EVERY_MS + self.jitter()
        replica.lease, replica.leading = lease, True
        replica.seq = (self.ledger[-1]["seq"] if self.ledger else 0) + 1
        replica.say(self.now, "info", "became leader", lease=f"{lease:x}", revision=revision)
        replica.beliefs.append([self.now, -1])
        self.every(replica, KEEPALIVE_EVERY_MS + self.jitter(), self.keep_alive)
        return CAMPAIGN_EVERY_MS + self.jitter()

    def keep_alive(self, replica: Replica) -> int:
        try:
            self.etcd.reachable(replica.endpoint)
        except Unavailable as error:
            replica.say(self.now, "warn", "keepalive failed", error=str(error))
            spent = REQUEST_TIMEOUT_MS if str(error) == TIMED_OUT else self.jitter()
            return spent + KEEPALIVE_EVERY_MS
        if self.etcd.renew(replica.lease, self.now) == 0:
            replica.say(self.now, "warn", "keepalive: lease not found", lease=f"{replica.lease:x}")
        return KEEPALIVE_EVERY_MS + self.jitter()

    def append(self, replica: Replica) -> None:
        at_ms = self.now + self.jitter()
        if self.ledger and any(entry["seq"] == replica.seq for entry in self.ledger[-60:]):
            self.page(at_ms)
        entry = len(self.ledger) + self.first_entry
        self.ledger.append(
            {
                "entry": entry,
                "at_ms": at_ms,
                "writer": replica.name,
                "seq": replica.seq,
                "client": f"{REPLICAS[replica.name]}:{self.rng.randrange(32768, 60999)}",
            }
        )
        replica.say(at_ms + self.jitter(), "info", "appended invoice", seq=replica.seq, entry=entry)
        replica.seq += 1

    def is_clear(self) -> bool:
        """Whether every append is clear of every change of the election key."""
        changes = [event["at_ms"] for event in self.etcd.watch]
        return all(
            abs(entry["at_ms"] - at_ms) > CLEAR_OF_KEY_EVENTS_MS
            for entry in self.ledger
            for at_ms in changes
        )

    def handovers(self) -> int:
        """How many times the key went to a replica after the first one."""
        return sum(len(replica.beliefs) for replica in self.replicas.values()) - 1

    # -- the on-call --------------------------------------------------------------------

    def page(self, at_ms: int) -> None:
        """A duplicate invoice number pages the on-call, who restarts the replica that
        does not hold the election key (once per overlap)."""
        holder = self.etcd.key["value"] if self.etcd.key else None
        stale = next(
            (name for name, r in self.replicas.items() if r.leading and name != holder), None
        )
        if stale is None or stale in self.paged_for:
            return
        self.paged_for.add(stale)
        paged = at_ms + self.rng.randrange(1000, 3000)
        acted = paged + self.rng.randrange(6000, 16000)
        self.notes.append((paged, "PAGE ledger-duplicate-invoice-number firing"))
        self.notes.append(
            (
                acted,
                f"`etcdctl get /ledger/leader` says {holder or 'nothing'}; "
                f"restarting ledger-writer on {REPLICAS[stale]} ({stale})",
            )
        )

        def restart() -> None:
            self.paged_for.discard(stale)
            self.stop_replica(stale, self.rng.randrange(1200, 2600))

        self.at(acted, restart)

    def pause_leader(self, pause_ms: int) -> None:
        leader = next((r for r in self.replicas.values() if r.leading and r.running), None)
        if leader is not None:
            leader.paused_until = self.now + pause_ms
            self.pause = (leader.name, self.now, pause_ms)


def plan(night: Night, rng: random.Random) -> int:
    """Schedule the night's faults; returns when it ends."""
    upgrade = rng.sample(list(MEMBERS), len(MEMBERS))
    starts = [rng.randrange(8000, 14000)]
    for _ in range(3):
        starts.append(starts[-1] + rng.randrange(24000, 32000))
    pause_slot = rng.randrange(1, 4)  # the GC pause comes between two upgrades
    times = starts[:pause_slot] + starts[pause_slot + 1 :]
    for member, when in zip(upgrade, times, strict=True):
        down_ms = rng.randrange(2600, 4200)
        night.at(when, lambda m=member, d=down_ms: night.stop_member(m, d))
    pause_ms = rng.randrange(2800, 4500)
    night.at(starts[pause_slot], lambda: night.pause_leader(pause_ms))
    for name in REPLICAS:
        night.at(rng.randrange(0, 400), lambda n=name: night.start_replica(n))
    night.at(1, night.lessor)
    night.at(rng.randrange(50, 300), night.other_traffic)
    return starts[-1] + rng.randrange(26000, 30000)


def simulate(seed: int) -> Incident:
    """The incident of a seed: the same night every time."""
    for attempt in itertools.count():
        rng = random.Random(f"ledger-incident:{seed}:{attempt}")
        night = Night(rng)
        end_ms = plan(night, rng)
        night.run_until(end_ms)
        for replica in night.replicas.values():
            for belief in replica.beliefs:
                if belief[1] < 0:
                    belief[1] = end_ms
        if night.handovers() in HANDOVERS_WANTED and night.is_clear():
            break
    start = datetime(
        2024,
        rng.randrange(1, 13),
        rng.randrange(1, 29),
        rng.randrange(1, 5),
        rng.randrange(60),
        rng.randrange(60),
        rng.randrange(1000) * 1000,
        UTC,
    )
    if night.pause:
        name, at_ms, pause_ms = night.pause
        night.notes.append(
            (
                at_ms + rng.randrange(-900, 900),
                f"(found later) the cloud provider live-migrated the VM of "
                f"{REPLICAS[name]} ({name}); the guest was paused for about "
                f"{round(pause_ms / 1000, 1)} s",
            )
        )
    return Incident(
        seed,
        start,
        end_ms,
        night.replicas,
        night.ledger,
        night.etcd.watch,
        sorted(night.notes),
        night.etcd.member_ids,
        rng.getrandbits(63),
    )


# -- the files --------------------------------------------------------------------------


def log_line(incident: Incident, name: str, entry: tuple[int, str, str, dict]) -> str:
    at_ms, level, msg, fields = entry
    extra = "".join(
        f" {key}={json.dumps(value) if isinstance(value, str) and ' ' in value else value}"
        for key, value in fields.items()
    )
    return f'{incident.time(at_ms)} replica={name} level={level} msg="{msg}"{extra}'


def watch_line(incident: Incident, event: dict) -> str:
    key = base64.b64encode(ELECTION_KEY.encode()).decode()
    if event["type"] == "PUT":
        kv = {
            "key": key,
            "create_revision": event["revision"],
            "mod_revision": event["revision"],
            "version": 1,
            "value": base64.b64encode(event["value"].encode()).decode(),
            "lease": event["lease"],
        }
        change = {"kv": kv}
    else:
        change = {"type": 1, "kv": {"key": key, "mod_revision": event["revision"]}}
    response = {
        "Header": {
            "cluster_id": incident.cluster_id,
            "member_id": incident.member_ids["m3"],
            "revision": event["revision"],
            "raft_term": event["term"],
        },
        "Events": [change],
        "CompactRevision": 0,
        "Canceled": False,
        "Created": False,
    }
    return f"{incident.time(event['at_ms'])} {json.dumps(response, separators=(',', ':'))}"


def timeline(incident: Incident) -> str:
    day = incident.start.strftime("%Y-%m-%d")
    lines = [
        f"# {day}: etcd-billing rolling upgrade (CHG-{incident.seed % 9000 + 1000})",
        "",
        "Cluster etcd-billing: " + ", ".join(f"{m} {ip}" for m, ip in MEMBERS.items()) + ".",
        "Upgrade 3.4.22 -> 3.4.23, one member at a time, each checked healthy before the next.",
        "ledger-writer runs on "
        + ", ".join(f"{ip} ({n})" for n, ip in REPLICAS.items())
        + "; lease TTL 1 s; each replica is configured with all three members, its own "
        "zone's first.",
        "",
        "## Notes (UTC, to the second)",
        "",
    ]
    for at_ms, text in incident.notes:
        stamp = (incident.start + timedelta(milliseconds=at_ms)).strftime("%H:%M:%S")
        lines.append(f"- {stamp} {text}")
    lines += [
        "",
        "No configuration change to ledger-writer or the ledger that night. Billing found",
        "duplicate invoice numbers the next morning.",
        "",
    ]
    return "\n".join(lines)


def render(incident: Incident, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "timeline.md").write_text(timeline(incident))
    for name, replica in incident.replicas.items():
        entries = sorted(replica.log, key=lambda entry: entry[0])
        lines = [log_line(incident, name, entry) for entry in entries]
        (folder / f"replica-{name}.log").write_text("\n".join(lines) + "\n")
    with open(folder / "ledger.jsonl", "w") as stream:
        for row in incident.ledger:
            record = {
                "time": incident.time(row["at_ms"]),
                "client": row["client"],
                "request": {"writer": row["writer"], "seq": row["seq"]},
                "status": 200,
                "entry": row["entry"],
            }
            stream.write(json.dumps(record) + "\n")
    watch = [
        watch_line(incident, event) for event in sorted(incident.watch, key=lambda e: e["at_ms"])
    ]
    (folder / "etcd-watch.log").write_text("\n".join(watch) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, required=True, help="your seed, from the lab page")
    parser.add_argument("--out", help="where to write the files (default: incident-SEED/)")
    args = parser.parse_args()
    folder = Path(args.out or f"incident-{args.seed}")
    render(simulate(args.seed), folder)
    print(
        f"Wrote {folder}/: timeline.md, replica-a.log, replica-b.log, ledger.jsonl, etcd-watch.log"
    )


if __name__ == "__main__":
    main()
