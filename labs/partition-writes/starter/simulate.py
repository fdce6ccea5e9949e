"""A deterministic simulation of a three-node replicated set store, one seed at a time.

The simulator owns everything a real deployment leaves to chance: the clock, message
delays, which messages a network partition drops, and when clients send their writes.
The nodes own nothing but their state: each one is `node.py` running in its own process,
handed one message at a time on standard input (a JSON line) and answering with the
messages it wants to send (one JSON line). With the same seed and the same node code,
every run is the same run, down to the last message.

    python3 simulate.py --seed 1234                 # history and trace into runs/seed-1234/
    python3 simulate.py --seed 1234 --nemesis none  # the same workload, no partitions

What comes out, in the shape Jepsen and Maelstrom use:

- history.jsonl: one client operation event per line. Every operation has an `invoke`
  and then exactly one completion: `ok` (the store acknowledged it), `fail` (the store
  said it definitely did not happen) or `info` (no answer in time: it may or may not
  have happened). At the end, after the partitions heal and the cluster settles, a
  final `read` asks every node for the set it holds.
- trace.log: what the network and the nodes did: partitions, every message between
  nodes at the time it arrives or is dropped, client messages the network lost, and the
  notes the nodes log.
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import random
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

NODE_IDS = ("n1", "n2", "n3")
CLIENT_IDS = ("c1", "c2", "c3")
FINAL_READER = "final"
TICK_MS = 10  # every node gets a tick this often: its only sense of time passing
WRITES_FROM_MS = 300  # give the cluster time to elect a first leader
WRITES_UNTIL_MS = 3000
SETTLE_MS = 1000  # after the last partition heals, before the final read
CLIENT_TIMEOUT_MS = 200
FINAL_READ_TIMEOUT_MS = 200
NODE_DELAY_MS = (1, 5)  # one-way delay between two nodes
CLIENT_DELAY_MS = (1, 3)  # one-way delay between a client and a node (never partitioned)
CLIENT_LOSS = 0.02  # share of requests and answers between clients and nodes that get lost
THINK_MS = (5, 15)  # a client's pause between one operation and the next
NEMESES = ("isolate-leader", "rotate", "none")
# Bounds on what one node may answer to one message, so that a runaway node is reported
# instead of flooding the simulation.
MAX_SENDS_PER_MESSAGE = 64
MAX_EXCHANGES = 40_000  # a healthy run hands the nodes about 2,500 messages
MAX_LINE_BYTES = 1 << 20


class NodeError(Exception):
    """A node broke the protocol: crashed, hung, or answered something malformed."""

    def __init__(self, node_id: str, problem: str) -> None:
        super().__init__(f"node {node_id} {problem}")
        self.node_id = node_id
        self.problem = problem


@dataclass
class Result:
    """One simulated run: the client history and the trace, both in event order."""

    seed: int
    nemesis: str
    history: list[dict] = field(default_factory=list)
    trace: list[str] = field(default_factory=list)
    exchanges: int = 0  # messages handed to nodes, ticks included
    network: list[tuple[int, str]] = field(default_factory=list)  # (time, nemesis action)


# -- talking to nodes ------------------------------------------------------------------


def parse_reply(node_id: str, line: str) -> dict:
    """Check one answer line of a node: {"send": [{"dest", "body"}...], "log": [str...]}."""
    try:
        reply = json.loads(line)
    except json.JSONDecodeError:
        problem = f"answered a line that is not JSON: {line[:200]!r} (debug output goes to stderr)"
        raise NodeError(node_id, problem) from None
    if not isinstance(reply, dict):
        raise NodeError(node_id, f"answered {type(reply).__name__}, expected a JSON object")
    sends = reply.get("send", [])
    notes = reply.get("log", [])
    if not isinstance(sends, list) or not isinstance(notes, list):
        raise NodeError(node_id, '"send" and "log" must be lists')
    if len(sends) > MAX_SENDS_PER_MESSAGE:
        raise NodeError(node_id, f"sent {len(sends)} messages in answer to one message")
    for message in sends:
        ok = (
            isinstance(message, dict)
            and isinstance(message.get("dest"), str)
            and isinstance(message.get("body"), dict)
            and isinstance(message["body"].get("type"), str)
        )
        if not ok:
            raise NodeError(node_id, f"malformed message {json.dumps(message)[:200]}")
    return {"send": sends, "log": [str(note)[:500] for note in notes]}


class PipeNode:
    """A node running as its own process, spoken to over its standard input and output."""

    def __init__(self, node_id: str, command: list[str], cwd: str | None = None) -> None:
        self.node_id = node_id
        self.process = subprocess.Popen(
            command,
            cwd=cwd,
            # Python randomises string hashing per process; fixing it keeps set order,
            # and so the whole run, the same every time.
            env={**os.environ, "PYTHONHASHSEED": "0"},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )

    def exchange(self, message: dict) -> dict:
        assert self.process.stdin is not None and self.process.stdout is not None
        try:
            self.process.stdin.write(json.dumps(message) + "\n")
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            raise NodeError(self.node_id, "stopped reading its input (did it crash?)") from None
        line = self.process.stdout.readline(MAX_LINE_BYTES)
        if not line:
            raise NodeError(self.node_id, "exited or closed its output (did it crash?)")
        return parse_reply(self.node_id, line)

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# -- the simulation ----------------------------------------------------------------------


@dataclass
class Client:
    """One Jepsen 'process': a single client with at most one operation in flight."""

    name: str
    target: str  # the node it sends its next write to
    op: dict | None = None  # the operation in flight
    msg_id: int = 0


def partition_schedule(rng: random.Random, nemesis: str) -> list[tuple[int, str]]:
    """When the network changes, as (time, action); the victims are chosen at that time."""
    if nemesis == "none":
        return []
    schedule = []
    start = rng.randint(600, 1000)
    if nemesis == "rotate":
        # A follower falls behind, and the moment it is back, the leader is cut off: the
        # survivors are one up-to-date node and one stale one.
        lag = rng.randint(300, 600)
        schedule += [(start, "isolate-follower"), (start + lag, "isolate-leader")]
        start += lag
    else:
        schedule.append((start, "isolate-leader"))
    end = start + rng.randint(400, 700)
    schedule.append((end, "heal"))
    second = end + rng.randint(300, 600)
    schedule += [(second, "isolate-leader"), (second + rng.randint(400, 700), "heal")]
    return schedule


def describe_body(body: dict) -> str:
    """A one-line summary of a message body: scalars shown, lists shown by length."""
    parts = [str(body.get("type"))[:40]]
    for key, value in body.items():
        if key == "type":
            continue
        if isinstance(value, list):
            parts.append(f"{key}=[{len(value)} items]")
        elif isinstance(value, dict):
            parts.append(f"{key}={{..}}")
        else:
            parts.append(f"{key}={json.dumps(value)[:40]}")
    return " ".join(parts)


class Simulation:
    """One seeded run: an event queue in simulated milliseconds, drained in order.

    Events at the same millisecond run in the order they were scheduled, and every
    random choice comes from one generator seeded with the run's seed, so a run depends
    on nothing but the seed, the nemesis and what the nodes answer.
    """

    def __init__(self, seed: int, nemesis: str, nodes: dict) -> None:
        if nemesis not in NEMESES:
            raise ValueError(f"nemesis must be one of {NEMESES}, got {nemesis!r}")
        self.rng = random.Random(seed)
        self.nodes = nodes
        self.result = Result(seed=seed, nemesis=nemesis)
        self.events: list[tuple[int, int, str, object]] = []
        self.sequence = 0
        self.components = [set(NODE_IDS)]
        self.last_acker: str | None = None  # the node that most recently acknowledged a write
        self.next_element = 1
        self.final_reads: set[str] = set()
        self.clients: dict[str, Client] = {}

    def run(self) -> Result:
        # Every node learns who it is first; its seed keeps its own choices repeatable.
        for node_id in NODE_IDS:
            init = {"type": "init", "node_id": node_id, "node_ids": list(NODE_IDS)}
            init["seed"] = self.rng.randrange(2**31)
            self.deliver_to_node(0, node_id, "sim", init)
        faults = partition_schedule(self.rng, self.result.nemesis)
        for time, action in faults:
            self.schedule(time, "nemesis", action)
        # The final read comes once the writes have stopped, the last partition has
        # healed and the cluster has had time to settle; ticks go on until it is answered.
        final_read_at = max([WRITES_UNTIL_MS] + [time for time, _ in faults]) + SETTLE_MS
        for time in range(TICK_MS, final_read_at + FINAL_READ_TIMEOUT_MS + 1, TICK_MS):
            self.schedule(time, "tick", None)
        self.schedule(final_read_at, "final_read", None)
        for name in CLIENT_IDS:
            self.clients[name] = Client(name, target=self.rng.choice(NODE_IDS))
            self.schedule(WRITES_FROM_MS + self.rng.randint(0, 10), "invoke", name)
        while self.events:
            time, _, kind, data = heapq.heappop(self.events)
            getattr(self, "on_" + kind)(time, data)
        return self.result

    # -- bookkeeping --------------------------------------------------------------------

    def schedule(self, time: int, kind: str, data: object) -> None:
        self.sequence += 1
        heapq.heappush(self.events, (time, self.sequence, kind, data))

    def trace(self, time: int, who: str, text: str) -> None:
        self.result.trace.append(f"{time:6d} ms  {who:<7} {text}")

    def record(self, time: int, process: str, kind: str, f: str, value, **extra) -> None:
        event = {"index": len(self.result.history), "time": time, "process": process}
        event.update({"type": kind, "f": f, "value": value, **extra})
        self.result.history.append(event)

    def connected(self, a: str, b: str) -> bool:
        return any(a in part and b in part for part in self.components)

    def deliver_to_node(self, time: int, node_id: str, src: str, body: dict) -> None:
        self.result.exchanges += 1
        if self.result.exchanges > MAX_EXCHANGES:
            raise NodeError(node_id, f"and its peers exchanged over {MAX_EXCHANGES} messages")
        message = {"now": time, "src": src, "dest": node_id, "body": body}
        reply = self.nodes[node_id].exchange(message)
        for note in reply["log"]:
            self.trace(time, node_id, note)
        for sent in reply["send"]:
            dest, out = sent["dest"], sent["body"]
            if dest in NODE_IDS and dest != node_id:
                delay = self.rng.randint(*NODE_DELAY_MS)
            elif dest in CLIENT_IDS or dest == FINAL_READER:
                delay = self.rng.randint(*CLIENT_DELAY_MS)
                if dest in CLIENT_IDS and self.rng.random() < CLIENT_LOSS:
                    self.trace(time, node_id, f"-> {dest}  {describe_body(out)}  [lost]")
                    continue
            else:
                raise NodeError(node_id, f"sent a message to itself or to unknown {dest!r}")
            self.schedule(time + delay, "deliver", (node_id, dest, out))

    # -- events -------------------------------------------------------------------------

    def on_tick(self, time: int, _) -> None:
        for node_id in NODE_IDS:
            self.deliver_to_node(time, node_id, "sim", {"type": "tick"})

    def on_nemesis(self, time: int, action: str) -> None:
        self.result.network.append((time, action))
        if action == "heal":
            self.components = [set(NODE_IDS)]
            self.trace(time, "nemesis", "heal: every node can reach every other")
            return
        # The nemesis knows the leader the way an operator would: by who answers writes.
        leader = self.last_acker or self.rng.choice(NODE_IDS)
        if action == "isolate-leader":
            victim, what = leader, "leader"
        else:
            victim, what = self.rng.choice([n for n in NODE_IDS if n != leader]), "follower"
        rest = sorted(n for n in NODE_IDS if n != victim)
        self.components = [{victim}, set(rest)]
        cut = f"{{{victim}}} | {{{' '.join(rest)}}}"
        self.trace(time, "nemesis", f"partition: {cut} ({what} isolated)")

    def on_invoke(self, time: int, name: str) -> None:
        if time >= WRITES_UNTIL_MS:
            return
        client = self.clients[name]
        client.msg_id += 1
        value, self.next_element = self.next_element, self.next_element + 1
        client.op = {"value": value, "msg_id": client.msg_id, "node": client.target}
        self.record(time, name, "invoke", "add", value, node=client.target)
        body = {"type": "add", "element": value, "msg_id": client.msg_id}
        if self.rng.random() < CLIENT_LOSS:
            self.trace(time, name, f"-> {client.target}  {describe_body(body)}  [lost]")
        else:
            delay = self.rng.randint(*CLIENT_DELAY_MS)
            self.schedule(time + delay, "deliver", (name, client.target, body))
        self.schedule(time + CLIENT_TIMEOUT_MS, "timeout", (name, client.msg_id))

    def on_timeout(self, time: int, data: tuple[str, int]) -> None:
        name, msg_id = data
        client = self.clients[name]
        op = client.op
        if op is None or op["msg_id"] != msg_id:
            return  # it was answered in time
        self.record(time, name, "info", "add", op["value"], node=op["node"], error="timeout")
        # No answer: the next write goes to the next node.
        client.target = NODE_IDS[(NODE_IDS.index(client.target) + 1) % len(NODE_IDS)]
        self.finish(time, client)

    def on_answer(self, time: int, src: str, client: Client, body: dict) -> None:
        op = client.op
        if op is None or (src, body.get("in_reply_to")) != (op["node"], op["msg_id"]):
            return  # a late answer to an operation that already timed out
        if body.get("type") == "add_ok":
            self.record(time, client.name, "ok", "add", op["value"], node=op["node"])
            self.last_acker = op["node"]
        elif body.get("type") == "error":
            error = str(body.get("text", "error"))[:100]
            self.record(time, client.name, "fail", "add", op["value"], node=op["node"], error=error)
            hint = body.get("leader")
            if hint in NODE_IDS:
                client.target = hint
            else:
                client.target = NODE_IDS[(NODE_IDS.index(client.target) + 1) % len(NODE_IDS)]
        else:
            return
        self.finish(time, client)

    def finish(self, time: int, client: Client) -> None:
        client.op = None
        self.schedule(time + self.rng.randint(*THINK_MS), "invoke", client.name)

    def on_final_read(self, time: int, _) -> None:
        for number, node_id in enumerate(NODE_IDS, start=1):
            self.record(time, FINAL_READER, "invoke", "read", None, node=node_id)
            body = {"type": "read", "msg_id": number}
            delay = self.rng.randint(*CLIENT_DELAY_MS)
            self.schedule(time + delay, "deliver", (FINAL_READER, node_id, body))
        self.schedule(time + FINAL_READ_TIMEOUT_MS, "final_read_timeout", None)

    def on_final_read_timeout(self, time: int, _) -> None:
        for node_id in NODE_IDS:
            if node_id not in self.final_reads:
                self.record(time, FINAL_READER, "info", "read", None, node=node_id, error="timeout")

    def on_read_answer(self, time: int, node_id: str, body: dict) -> None:
        if node_id in self.final_reads or body.get("type") != "read_ok":
            return
        elements = body.get("elements")
        if not isinstance(elements, list) or not all(type(e) is int for e in elements):
            raise NodeError(node_id, "answered the final read without a list of integers")
        self.final_reads.add(node_id)
        self.record(time, FINAL_READER, "ok", "read", sorted(elements), node=node_id)

    def on_deliver(self, time: int, data: tuple[str, str, dict]) -> None:
        src, dest, body = data
        if dest == FINAL_READER:
            self.on_read_answer(time, src, body)
        elif dest in CLIENT_IDS:
            self.on_answer(time, src, self.clients[dest], body)
        elif src in NODE_IDS:
            # Whether a partition drops a message is decided when it would arrive.
            dropped = not self.connected(src, dest)
            mark = "  [dropped: partitioned]" if dropped else ""
            self.trace(time, src, f"-> {dest}  {describe_body(body)}{mark}")
            if not dropped:
                self.deliver_to_node(time, dest, src, body)
        else:
            self.deliver_to_node(time, dest, src, body)


def simulate(seed: int, nemesis: str, nodes: dict) -> Result:
    """Run one seed against `nodes` (node id -> object with exchange(message) -> reply)."""
    return Simulation(seed, nemesis, nodes).run()


# -- command line ------------------------------------------------------------------------


def summary(result: Result) -> str:
    adds = [e for e in result.history if e["f"] == "add"]
    count = {
        kind: sum(e["type"] == kind for e in adds) for kind in ("invoke", "ok", "fail", "info")
    }
    reads = [e for e in result.history if e["f"] == "read" and e["type"] != "invoke"]
    lines = [
        f"seed {result.seed}, nemesis {result.nemesis}: {count['invoke']} writes invoked, "
        f"{count['ok']} ok, {count['fail']} fail, {count['info']} info",
    ]
    for event in reads:
        if event["type"] == "ok":
            lines.append(f"  final read from {event['node']}: {len(event['value'])} elements")
        else:
            lines.append(f"  final read from {event['node']}: no answer")
    lines += [f"  {line.strip()}" for line in result.trace if " nemesis " in line]
    return "\n".join(lines)


def write_run(result: Result, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / "history.jsonl", "w") as out:
        for event in result.history:
            out.write(json.dumps(event) + "\n")
    (directory / "trace.log").write_text("\n".join(result.trace) + "\n")


def run_with_processes(seed: int, nemesis: str, command: list[str]) -> Result:
    nodes = {node_id: PipeNode(node_id, command) for node_id in NODE_IDS}
    try:
        return simulate(seed, nemesis, nodes)
    finally:
        for node in nodes.values():
            node.close()


def main(argv: Iterable[str] | None = None, run: Callable = run_with_processes) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, required=True, help="your seed, from the lab page")
    parser.add_argument("--nemesis", choices=NEMESES, default="isolate-leader")
    parser.add_argument("--node", default="node.py", help="the node program (default node.py)")
    parser.add_argument("--out", default=None, help="where to write (default runs/seed-N/)")
    args = parser.parse_args(argv)
    try:
        result = run(args.seed, args.nemesis, [sys.executable, args.node])
    except NodeError as error:
        print(f"the simulation stopped: {error}", file=sys.stderr)
        return 1
    directory = Path(args.out or f"runs/seed-{args.seed}")
    write_run(result, directory)
    print(summary(result))
    print(f"history: {directory / 'history.jsonl'}\ntrace:   {directory / 'trace.log'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
