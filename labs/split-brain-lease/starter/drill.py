#!/usr/bin/env python3
"""The game day: the rolling upgrade again, with your replica.py, on a real etcd cluster.

    python3 drill.py                  # three etcd members, from `etcd` on your PATH
    python3 drill.py --seed 12345     # the schedule of faults of your seed
    python3 drill.py --fake-etcd      # no etcd here: fake_etcd.py, a stand-in, not etcd

It starts three etcd members, the ledger and two replicas of replica.py (`a` and `b`,
each its own process), waits until a leader appends, and then goes through a schedule
of four faults, each one once the service has recovered from the one before:

  restart mN        the rolling upgrade: stop member mN, wait a second, start it again
  pause             stop the leader's process (SIGSTOP, a long GC pause) until the
                    other replica has taken over and appended, then let it go on (SIGCONT)
  pause in flight   the same, and the append the leader has just sent is held on its
                    way to the ledger until the other replica has taken over (a slow
                    network): it arrives late, after the leader was deposed
  ... + restart mN  a member's upgrade happens while the leader is paused

Every append the ledger receives is judged against etcd at the moment it arrives (see
`judge` in ledger.py). The drill stops at the first append the ledger should not have
taken (with --stop-early, as the checker does), or when the service stops making
progress, and writes what happened to
drill-out/: appends.jsonl (every append and its verdict) and each replica's log.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from etcd_members import MEMBERS, EtcdMembers, client_url, read_holder, wipe
from ledger import DEPOSED, LEDGER_PORT, OK, VIOLATIONS, WRONG_FENCE, Append, Audit, LedgerServer

REPLICAS = ("a", "b")
# Each replica prefers a different member, as replicas in different zones would.
ENDPOINT_ORDER = {"a": ("m1", "m2", "m3"), "b": ("m2", "m3", "m1")}
LEDGER_URL = f"http://127.0.0.1:{LEDGER_PORT}"
# Appends from the key's holder that show the service is making progress after a fault
# (an unfenced one counts here: it is a violation of its own).
APPENDS_FOR_PROGRESS = 3
FROM_THE_HOLDER = (OK, WRONG_FENCE)
# The longest each wait goes on for (a correct replica needs a fraction of each).
WARM_UP_S = 6.0
PROGRESS_S = 5.0
TAKE_OVER_S = 6.0
HEALTHY_S = 15.0
HELD_ANSWER_S = 5.0
# How long an upgraded member stays down.
MEMBER_DOWN_S = 1.0
# The environment a replica gets: the same small one the checker gives it.
REPLICA_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONUNBUFFERED": "1",
}


# -- the schedule -----------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One fault: restart `member`, or pause the leader (restarting `member` meanwhile)."""

    kind: str  # "restart" or "pause"
    member: str | None = None
    in_flight: bool = False

    def describe(self) -> str:
        if self.kind == "restart":
            return f"restart {self.member}"
        text = "pause in flight" if self.in_flight else "pause"
        return text + (f" + restart {self.member}" if self.member else "")


def schedule_from(rng: random.Random) -> list[Step]:
    """Four faults: every member restarted once (one of them while the leader is paused)
    and two pauses of the leader, one with its last append held in flight."""
    order = rng.sample(MEMBERS, len(MEMBERS))
    in_flight = [True, False]
    rng.shuffle(in_flight)
    during = rng.randrange(2)  # which pause has the third restart
    restart_slots = set(rng.sample(range(4), 2))
    steps, restarts, pauses = [], iter(order[:2]), iter(range(2))
    for slot in range(4):
        if slot in restart_slots:
            steps.append(Step("restart", next(restarts)))
        else:
            pause = next(pauses)
            steps.append(Step("pause", order[2] if pause == during else None, in_flight[pause]))
    return steps


def schedule_for(seed: int) -> list[Step]:
    """The schedule of a seed, as the lab page's feedback names it."""
    return schedule_from(random.Random(f"drill:{seed}"))


def replica_command(name: str, python: str = "python3") -> list[str]:
    endpoints = ",".join(client_url(member) for member in ENDPOINT_ORDER[name])
    return [python, "replica.py", "--name", name, "--etcd", endpoints, "--ledger", LEDGER_URL]


# -- running it -------------------------------------------------------------------------


class ReplicaProcess(Protocol):
    """A running replica as the game day needs it: the drill's, or the checker's."""

    def pause(self) -> None: ...
    def resume(self) -> None: ...
    def poll(self) -> int | None: ...
    def close(self) -> None: ...


class Cluster(Protocol):
    def up_urls(self) -> list[str]: ...
    def stop(self, member: str) -> None: ...
    def start(self, member: str) -> None: ...
    def wait_healthy(self, member: str, timeout_s: float) -> bool: ...


@dataclass
class Phase:
    """One thing the game day waited for, and whether it happened in time."""

    label: str
    ok: bool
    waited_s: float
    detail: str = ""


@dataclass
class DrillResult:
    steps: list[Step]
    phases: list[Phase]
    appends: list[Append]
    exits: dict[str, int | None] = field(default_factory=dict)

    @property
    def violations(self) -> list[Append]:
        return [append for append in self.appends if append.verdict in VIOLATIONS]

    @property
    def stalled(self) -> Phase | None:
        return next((phase for phase in self.phases if not phase.ok), None)

    @property
    def completed(self) -> bool:
        """Every step ran, with progress after each one."""
        expected = 1 + sum(1 if step.kind == "restart" else 3 for step in self.steps)
        return len(self.phases) == expected and self.stalled is None

    @property
    def passed(self) -> bool:
        return self.completed and not self.violations


class GameDay:
    """Goes through a schedule, one fault after the other, watching the ledger's audit."""

    def __init__(
        self,
        cluster: Cluster,
        audit: Audit,
        replicas: dict[str, ReplicaProcess],
        note: Callable[[str], None],
        *,
        stop_at_violation: bool,
    ) -> None:
        self.cluster = cluster
        self.audit = audit
        self.replicas = replicas
        self.note = note
        self.stop_at_violation = stop_at_violation
        self.phases: list[Phase] = []

    def run(self, steps: Sequence[Step]) -> list[Phase]:
        if self.progress("a leader appends", WARM_UP_S):
            for step in steps:
                self.note(step.describe())
                done = self.restart(step.member) if step.kind == "restart" else self.pause(step)
                if not done or self.violated():
                    break
        return self.phases

    def violated(self) -> bool:
        """Whether to stop here: an append the ledger should not have taken was taken."""
        return self.stop_at_violation and any(
            append.verdict in VIOLATIONS for append in self.audit.appends
        )

    def wait(self, label: str, cap_s: float, done: Callable[[list[Append]], bool]) -> bool:
        """Wait until `done(appends)` or an append the ledger should not have taken."""
        started = time.monotonic()
        met = (
            self.audit.wait_for(lambda appends: done(appends) or self.violated(), cap_s)
            and not self.violated()
        )
        waited = time.monotonic() - started
        detail = (
            ""
            if met
            else (
                "stopped: the ledger took an append it should not have"
                if self.violated()
                else f"did not happen within {cap_s:g} s"
            )
        )
        self.phases.append(Phase(label, met, waited, detail))
        self.note(f"{label}: {'yes' if met else detail} ({waited:.1f} s)")
        return met

    def progress(self, label: str, cap_s: float, *, besides: str | None = None) -> bool:
        """Wait for APPENDS_FOR_PROGRESS more ok appends (from others than `besides`)."""
        start = len(self.audit.appends)

        def done(appends: list[Append]) -> bool:
            fresh = appends[start:]
            good = [a for a in fresh if a.verdict in FROM_THE_HOLDER and a.sender != besides]
            return len(good) >= APPENDS_FOR_PROGRESS

        return self.wait(label, cap_s, done)

    def restart(self, member: str) -> bool:
        self.bounce(member)
        return self.progress(f"the leader appends after {member}'s restart", PROGRESS_S)

    def bounce(self, member: str) -> None:
        self.cluster.stop(member)
        time.sleep(MEMBER_DOWN_S)
        self.cluster.start(member)
        if not self.cluster.wait_healthy(member, HEALTHY_S):
            raise RuntimeError(f"etcd member {member} did not come back within {HEALTHY_S:g} s")

    def pause(self, step: Step) -> bool:
        victim = self.catch_leader(step.in_flight)
        if victim is None:
            return False
        process = self.replicas[victim]
        process.pause()
        try:
            if step.member:
                self.bounce(step.member)
            others = [name for name in self.replicas if name != victim]
            self.progress(
                f"{'/'.join(others)} takes over while {victim} is paused",
                TAKE_OVER_S,
                besides=victim,
            )
        finally:
            if step.in_flight:
                self.audit.trap.disarm()  # the held append goes on to the ledger
                self.audit.trap.answered.wait(HELD_ANSWER_S)
            process.resume()
        self.note(f"{victim} resumed")
        if self.phases[-1].ok:
            return self.progress(f"the leader appends after {victim} resumed", PROGRESS_S)
        return False

    def catch_leader(self, in_flight: bool) -> str | None:
        """The replica that leads now, from its next append (held back when in flight)."""
        start = len(self.audit.appends)
        if in_flight:
            self.audit.trap.arm()
            started = time.monotonic()
            caught = self.audit.trap.caught.wait(PROGRESS_S) and not self.violated()
            sender = self.audit.trap.sender
            label = "the leader sends an append (held back on its way)"
            self.phases.append(
                Phase(
                    label,
                    caught,
                    time.monotonic() - started,
                    "" if caught else f"none within {PROGRESS_S:g} s",
                )
            )
            if not caught:
                self.audit.trap.disarm()
            self.note(f"{label}: {sender if caught else 'none'}")
            return sender if caught else None

        def appended(appends: list[Append]) -> bool:
            return any(a.verdict in FROM_THE_HOLDER for a in appends[start:])

        if not self.wait("the leader appends (to be paused)", PROGRESS_S, appended):
            return None
        return next(a.sender for a in self.audit.appends[start:] if a.verdict in FROM_THE_HOLDER)


def run_drill(
    cluster: Cluster,
    steps: Sequence[Step],
    start_replica: Callable[[str], ReplicaProcess],
    identify: Callable[[tuple[str, int], object], str | None],
    note: Callable[[str], None],
    *,
    stop_at_violation: bool,
) -> DrillResult:
    """One game day from a clean cluster: the ledger, two replicas, the faults."""
    wipe(cluster.up_urls())
    audit = Audit(cluster.up_urls, identify, read_holder)
    server = LedgerServer(audit)
    server.serve_in_background()
    replicas: dict[str, ReplicaProcess] = {}
    try:
        for name in REPLICAS:
            replicas[name] = start_replica(name)
        game_day = GameDay(cluster, audit, replicas, note, stop_at_violation=stop_at_violation)
        phases = game_day.run(steps)
    finally:
        audit.trap.disarm()
        exits = {name: process.poll() for name, process in replicas.items()}
        for process in replicas.values():
            process.close()
        server.shutdown()
        server.server_close()
    return DrillResult(list(steps), phases, list(audit.appends), exits)


# -- on your machine --------------------------------------------------------------------


class LocalReplica:
    """replica.py as a process of its own, in its own process group, logging to a file."""

    def __init__(self, name: str, folder: Path, out: Path) -> None:
        self.log = open(out / f"replica-{name}.log", "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            replica_command(name, sys.executable),
            cwd=folder,
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=self.log,
            start_new_session=True,
            env={**REPLICA_ENV, "HOME": str(folder)},
        )

    def _signal(self, signum: int) -> None:
        try:
            os.killpg(self.process.pid, signum)
        except ProcessLookupError:
            pass  # it has exited

    def pause(self) -> None:
        self._signal(signal.SIGSTOP)

    def resume(self) -> None:
        self._signal(signal.SIGCONT)

    def poll(self) -> int | None:
        return self.process.poll()

    def close(self) -> None:
        self._signal(signal.SIGCONT)
        self._signal(signal.SIGKILL)
        self.process.wait()
        self.log.close()


def trust_the_writer(_client: tuple[str, int], writer: object) -> str | None:
    """On your machine the drill believes the "writer" field; the checker does not, and
    names the sender from the connection's owner instead."""
    return writer if writer in REPLICAS else None


def summary(result: DrillResult) -> list[str]:
    """What the drill found, in a few lines."""
    accepted = [a for a in result.appends if a.status == "accepted"]
    fenced = [a for a in result.appends if a.status == "fenced"]
    lines = [f"{len(result.appends)} appends: {len(accepted)} accepted, {len(fenced)} fenced."]
    numbers = Counter(a.seq for a in accepted)
    reused = sorted(seq for seq, count in numbers.items() if count > 1)
    if reused:
        lines.append(
            f"{len(reused)} invoice numbers were accepted twice or more, e.g. {reused[:5]}."
        )
    for verdict, meaning in (
        (DEPOSED, "from a replica that did not hold the election key when they arrived"),
        (WRONG_FENCE, "from the key's holder, but not fenced with the key's create_revision"),
    ):
        bad = [a for a in result.appends if a.verdict == verdict]
        if bad:
            lines.append(f"{len(bad)} accepted {meaning}:")
            lines += [f"  {describe(a)}" for a in bad[:5]]
    stalled = result.stalled
    if stalled:
        lines.append(f"No progress: {stalled.label}: {stalled.detail}.")
    for name, code in result.exits.items():
        if code is not None:
            lines.append(f"replica {name} exited with code {code}; see its log.")
    lines.append(
        "PASSED: no append the ledger should have refused." if result.passed else "FAILED."
    )
    return lines


def describe(append: Append) -> str:
    holder = append.holder
    held_by = (
        "nobody held the key"
        if holder is None
        else f"the key was {holder.value!r} at create_revision {holder.create_revision}"
        + ("" if holder.lease else " with no lease")
    )
    late = " (held in flight)" if append.held else ""
    return (
        f"{append.at_s:6.2f} s  entry {append.entry} from {append.sender}{late}: "
        f"seq {append.seq}, fence {append.fence}; {held_by}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1, help="whose schedule of faults to run")
    parser.add_argument("--fake-etcd", action="store_true", help="use fake_etcd.py, not etcd")
    parser.add_argument("--etcd-binary", default="etcd", help="the etcd to run (default: etcd)")
    parser.add_argument("--out", default="drill-out", help="where to write what happened")
    parser.add_argument(
        "--stop-early",
        action="store_true",
        help="stop at the first bad append, as the checker does",
    )
    args = parser.parse_args()
    folder = Path.cwd()
    out = folder / args.out
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    if args.fake_etcd:
        from fake_etcd import FakeCluster

        cluster: EtcdMembers | FakeCluster = FakeCluster()
    elif shutil.which(args.etcd_binary) is None:
        sys.exit(f"{args.etcd_binary} is not on your PATH: install etcd, or run with --fake-etcd")
    else:
        cluster = EtcdMembers(folder / "drill-data", binary=args.etcd_binary)
    steps = schedule_for(args.seed)
    print(f"schedule for seed {args.seed}: " + "; ".join(step.describe() for step in steps))
    cluster.start_all()
    started = time.monotonic()

    def note(text: str) -> None:
        print(f"[{time.monotonic() - started:6.2f} s] {text}", flush=True)

    try:
        result = run_drill(
            cluster,
            steps,
            lambda name: LocalReplica(name, folder, out),
            trust_the_writer,
            note,
            stop_at_violation=args.stop_early,
        )
    finally:
        cluster.close()
    with open(out / "appends.jsonl", "w") as stream:
        for append in result.appends:
            stream.write(json.dumps(append.as_json()) + "\n")
    print("\n".join(summary(result)))
    print(f"Every append and its verdict: {out / 'appends.jsonl'}; logs: {out}/replica-*.log")


if __name__ == "__main__":
    main()
