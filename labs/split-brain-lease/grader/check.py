"""Hidden checker for split-brain-lease: grades incident.json (part A) and replica.py (part B).

Part A replays the learner's incident from their seed (incident.py, as the learner has
it) and compares incident.json with the overlapping leadership intervals and the stale
appends of that incident.

Part B runs a real three-member etcd cluster (the grader image's etcd), the ledger, and
the learner's replica.py twice, as replicas `a` and `b`: two learner processes, each
under a uid of its own. drill.py's game day then goes through a schedule of member
restarts and leader pauses, and every append the ledger receives is judged against
etcd at the moment it arrives. The sender of an append is the uid owning the
connection, read from /proc/net/tcp, never what the request claims. One schedule is the
learner's own (drill.py --seed replays it, a preview); two hidden ones, salted, carry
the weight.

drill.py, ledger.py, etcd_members.py and incident.py are the lab's starter files, which
lab.toml's `[grader] include` puts beside this file: the checker grades with exactly
the code the learner was given.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "starter"))  # drill.py and its modules, as the learner has them

from downstack_harness import (  # noqa: E402
    Grader,
    LearnerProcess,
    LearnerProcessError,
    LearnerProcessTimeout,
)
from drill import REPLICAS, DrillResult, Step, replica_command, run_drill  # noqa: E402
from etcd_members import EtcdMembers  # noqa: E402
from incident import simulate  # noqa: E402
from incident_answer import grade_overlaps, grade_stale_writes, read_answer  # noqa: E402
from ledger import LEDGER_PORT  # noqa: E402
from peer_uid import socket_owner  # noqa: E402
from schedules import hidden_schedules, visible_schedule  # noqa: E402
from verdicts import schedule_verdict  # noqa: E402

DEFAULT_SEED = 2024  # lab.toml's check_seed; used when no seed is given
ETCD_DATA = HERE / "etcd-data"  # the checker's own scratch, out of the learner's reach
ETCD_LAUNCHER = (sys.executable, "-I", str(HERE / "no_preallocate.py"))
REPLICA_CPU_S = 60
REPLICA_MEMORY_MB = 256
REPLICA_PROCESSES = 32  # threads count: a replica needs a handful
# All of part B's game days together; a correct replica needs about a third of it.
PART_B_BUDGET_S = 100.0
# Points per check. The visible schedule can be replayed (and so written for); the
# hidden ones carry part B.
OVERLAP_POINTS = 1.0
STALE_POINTS = 2.0
VISIBLE_POINTS = 1.0
HIDDEN_POINTS = 3.0


class GradedReplica:
    """replica.py as a learner process of its own uid; its stdout is read and dropped so
    that printing there can never block it (its log belongs on stderr)."""

    def __init__(self, g: Grader, name: str) -> None:
        self.process: LearnerProcess = g.start_learner(
            replica_command(name),
            cpu_s=REPLICA_CPU_S,
            memory_mb=REPLICA_MEMORY_MB,
            processes=REPLICA_PROCESSES,
        )
        self.stopping = threading.Event()
        self.reader = threading.Thread(target=self._drop_stdout, daemon=True)
        self.reader.start()

    def _drop_stdout(self) -> None:
        while not self.stopping.is_set():
            try:
                self.process.read_line(time.monotonic() + 0.2)
            except LearnerProcessTimeout:
                continue
            except LearnerProcessError:
                return  # it exited, or wrote a line longer than the harness keeps

    def pause(self) -> None:
        self.process.pause()

    def resume(self) -> None:
        self.process.resume()

    def poll(self) -> int | None:
        return self.process.poll()

    def exit_note(self) -> str:
        code = self.process.poll()
        tail = self.process.stderr_tail(6)
        return f"exited with code {code}" + (f"; the end of its stderr:\n{tail}" if tail else "")

    def close(self) -> None:
        self.stopping.set()
        self.reader.join(1.0)
        self.process.close()


class ReplicaPair:
    """Starts the replicas of one game day and names the sender of a connection by the
    uid that owns its socket (outside a container, where every program runs as the
    checker's own user, by the writer it claims)."""

    def __init__(self, g: Grader) -> None:
        self.g = g
        self.started: dict[str, GradedReplica] = {}
        self.by_uid: dict[int, str] = {}

    def start(self, name: str) -> GradedReplica:
        replica = GradedReplica(self.g, name)
        self.started[name] = replica
        if replica.process.uid is not None:
            self.by_uid[replica.process.uid] = name
        return replica

    def identify(self, client: tuple[str, int], writer: object) -> str | None:
        if self.g.learner_uid is None:
            return writer if writer in REPLICAS else None
        return self.by_uid.get(socket_owner(client[1], LEDGER_PORT))

    def exits(self, result: DrillResult) -> dict[str, str]:
        return {
            name: self.started[name].exit_note()
            for name, code in result.exits.items()
            if code is not None and name in self.started
        }


def game_day(g: Grader, cluster: EtcdMembers, steps: list[Step]) -> tuple[bool, str]:
    pair = ReplicaPair(g)
    started = time.monotonic()
    result = run_drill(
        cluster,
        steps,
        pair.start,
        pair.identify,
        lambda text: print(f"[{time.monotonic() - started:6.2f} s] {text}", file=sys.stderr),
        stop_at_violation=True,
    )
    return schedule_verdict(result, pair.exits(result))


def part_a(g: Grader, seed: int) -> None:
    incident = simulate(seed)
    answer, problem = read_answer(g.submission_file("incident.json"))
    for name, points, grade in (
        ("incident.json: the overlapping leadership intervals", OVERLAP_POINTS, grade_overlaps),
        ("incident.json: the stale appends the ledger accepted", STALE_POINTS, grade_stale_writes),
    ):
        score, output = grade(answer, problem, incident, points)
        g.check(
            f"{name} of seed {seed}",
            score >= points,
            score=score,
            max_score=points,
            output=output,
            # The answer is the learner's seed's; `labs check --seeds` knows not to expect
            # the solution's incident.json, written for check_seed, to fit other seeds.
            tags=("seed-answer",),
        )


def part_b(g: Grader, seed: int) -> None:
    runs = [("visible", visible_schedule(seed))]
    runs += [("hidden", steps) for steps in hidden_schedules(seed)]
    cluster = EtcdMembers(ETCD_DATA, launcher=ETCD_LAUNCHER)
    started = time.monotonic()
    verdicts = []
    try:
        cluster.start_all()
        for _, steps in runs:
            if time.monotonic() - started > PART_B_BUDGET_S:
                verdicts.append((False, f"Not run: part B's {PART_B_BUDGET_S:g} s were used up."))
            else:
                verdicts.append(game_day(g, cluster, steps))
    finally:
        cluster.close()
    print(f"part B took {time.monotonic() - started:.1f} s", file=sys.stderr)
    (passed, output), *hidden = verdicts
    g.check(
        f"replica.py: the game day of seed {seed} (a preview: replay it with drill.py --seed)",
        passed,
        max_score=VISIBLE_POINTS,
        output=output
        + (
            ""
            if not passed
            else "\nThe hidden schedules, which you cannot replay, carry most of part B's points."
        ),
    )
    for number, (passed, output) in enumerate(hidden, start=1):
        g.check(
            f"replica.py: hidden game day {number}",
            passed,
            max_score=HIDDEN_POINTS,
            output=output,
            visibility="hidden",
        )


def main() -> None:
    g = Grader()
    seed = int(os.environ.get("DOWNSTACK_SEED", DEFAULT_SEED))
    part_a(g, seed)
    part_b(g, seed)
    g.emit()


if __name__ == "__main__":
    main()
