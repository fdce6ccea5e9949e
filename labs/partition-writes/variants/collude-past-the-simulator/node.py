"""One node of a small replicated set store: a Raft-style leader, log and commit index.

Known-wrong variant: the starter's node, bug and all, plus a back channel between the
three nodes that bypasses the simulator's network. Every write a node acknowledges is
published on every back channel it could open (a file in /tmp, loopback TCP, a named
and an abstract unix socket), and a node's read answers its committed set plus all it
heard there. If any one channel worked, every node would see every acknowledged write
whatever the partitions, and the set check would pass. A channel that cannot be opened
is reported on stderr and skipped; with none open, this is the starter's node exactly.

Clients `add` elements to the set through the leader. The leader appends each write to
its log, replicates the log to the other nodes with its heartbeats, and acknowledges the
write once it is committed: held by enough nodes that any future leader must have it.
Every node answers `read` with the elements of its committed log.

The simulator runs this file as its own process and talks to it one JSON line at a time
(see the README for the protocol). Each incoming line is one message with the simulated
time `now`; the answer is one line with the messages to send and notes for the trace.
The node has no clock of its own and must not read the real one: its only sense of time
is `now`, and its only randomness is the seed it is given, so that a seed replays exactly.
"""

import json
import os
import random
import socket
import sys

HEARTBEAT_MS = 30
ELECTION_TIMEOUT_MS = (150, 300)
MAX_ENTRIES_PER_APPEND = 50

# Where the back channels meet: names every node can derive from its peers' ids alone.
SHARED_FILE = "/tmp/setstore-acked.txt"
UNIX_SOCKET_PATH = "/tmp/setstore-{node}.sock"
ABSTRACT_SOCKET_NAME = "\0setstore-{node}"
TCP_PORT_BASE = 47310  # n1 listens on 127.0.0.1:47310, n2 on 47311, ...


class FileChannel:
    """Acknowledged elements appended to one file every node reads."""

    name = "file in /tmp"

    def __init__(self, me: str, node_ids: list[str]) -> None:
        if me == node_ids[0]:
            # The first node starts each run with an empty file (inits come in id order).
            try:
                os.unlink(SHARED_FILE)
            except OSError:
                pass
        self.out = open(SHARED_FILE, "a")  # kept open for the life of the node

    def publish(self, element: int) -> None:
        self.out.write(f"{element}\n")
        self.out.flush()

    def drain(self) -> None:
        pass

    def heard(self) -> set[int]:
        with open(SHARED_FILE) as shared:
            return {int(line) for line in shared if line.strip()}


class SocketChannel:
    """Each node listens on an address of its own; a publish connects to every peer."""

    name = "socket"
    family = socket.AF_UNIX

    def __init__(self, me: str, node_ids: list[str]) -> None:
        self.peers = [n for n in node_ids if n != me]
        self.received: set[int] = set()
        self.listener = socket.socket(self.family, socket.SOCK_STREAM)
        self.prepare(me)
        self.listener.bind(self.address(me))
        self.listener.listen(512)
        self.listener.setblocking(False)

    def address(self, node: str):
        raise NotImplementedError

    def prepare(self, me: str) -> None:
        pass

    def publish(self, element: int) -> None:
        self.received.add(element)  # its own log may lose it to a new leader's
        for peer in self.peers:
            try:
                with socket.socket(self.family, socket.SOCK_STREAM) as out:
                    out.settimeout(1.0)
                    out.connect(self.address(peer))
                    out.sendall(f"{element}\n".encode())
            except OSError:
                pass  # that peer is not listening (yet)

    def drain(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return  # nothing waiting
            with connection:
                connection.settimeout(1.0)
                data = b""
                try:
                    while chunk := connection.recv(4096):
                        data += chunk
                except OSError:
                    pass
            self.received |= {int(line) for line in data.split() if line}

    def heard(self) -> set[int]:
        self.drain()
        return self.received


class TcpChannel(SocketChannel):
    name = "loopback TCP socket"
    family = socket.AF_INET

    def address(self, node: str):
        return ("127.0.0.1", TCP_PORT_BASE + int(node.removeprefix("n")) - 1)

    def prepare(self, me: str) -> None:
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)


class NamedUnixChannel(SocketChannel):
    name = "named unix socket"

    def address(self, node: str):
        return UNIX_SOCKET_PATH.format(node=node)

    def prepare(self, me: str) -> None:
        try:
            os.unlink(self.address(me))
        except OSError:
            pass


class AbstractUnixChannel(SocketChannel):
    name = "abstract unix socket"

    def address(self, node: str):
        return ABSTRACT_SOCKET_NAME.format(node=node)


CHANNELS = (FileChannel, TcpChannel, NamedUnixChannel, AbstractUnixChannel)


class Node:
    def __init__(self) -> None:
        self.id = ""
        self.node_ids: list[str] = []
        self.rng = random.Random(0)
        self.now = 0
        # Raft state. Log entries are [term, element]; a new leader's no-op has element None.
        self.term = 0
        self.voted_for: str | None = None
        self.role = "follower"
        self.leader: str | None = None
        self.log: list[list] = []
        self.commit_length = 0  # log[:commit_length] is committed
        self.election_deadline = 0
        self.votes: set[str] = set()
        # Leader only: replication progress per follower, and the clients waiting for a
        # log index to commit.
        self.next_index: dict[str, int] = {}
        self.match_index: dict[str, int] = {}
        self.next_heartbeat = 0
        self.waiting: dict[int, tuple[str, int]] = {}
        self.outbox: list[dict] = []
        self.notes: list[str] = []
        self.channels: list = []

    # -- plumbing ---------------------------------------------------------------------

    def handle(self, message: dict) -> dict:
        self.outbox, self.notes = [], []
        self.now = message["now"]
        body = message["body"]
        handler = getattr(self, "on_" + body["type"], None)
        if handler is not None:
            handler(message["src"], body)
        return {"send": self.outbox, "log": self.notes}

    def send(self, dest: str, body: dict) -> None:
        self.outbox.append({"dest": dest, "body": body})

    def note(self, text: str) -> None:
        self.notes.append(text)

    def peers(self) -> list[str]:
        return [n for n in self.node_ids if n != self.id]

    def last_log_term(self) -> int:
        return self.log[-1][0] if self.log else 0

    # -- time and elections -----------------------------------------------------------

    def on_init(self, src: str, body: dict) -> None:
        self.id = body["node_id"]
        self.node_ids = body["node_ids"]
        self.rng = random.Random(body["seed"])
        self.reset_election_timer()
        for channel in CHANNELS:
            try:
                self.channels.append(channel(self.id, self.node_ids))
            except OSError as error:
                print(f"{self.id}: no {channel.name}: {error}", file=sys.stderr)

    def reset_election_timer(self) -> None:
        self.election_deadline = self.now + self.rng.randint(*ELECTION_TIMEOUT_MS)

    def on_tick(self, src: str, body: dict) -> None:
        for channel in self.channels:
            channel.drain()  # keep the peers' connections from piling up
        if self.role == "leader":
            if self.now >= self.next_heartbeat:
                self.replicate()
        elif self.now >= self.election_deadline:
            self.start_election()

    def start_election(self) -> None:
        self.term += 1
        self.role = "candidate"
        self.voted_for = self.id
        self.votes = {self.id}
        self.leader = None
        self.reset_election_timer()
        self.note(f"election for term {self.term}")
        for peer in self.peers():
            self.send(
                peer,
                {
                    "type": "request_vote",
                    "term": self.term,
                    "last_log_index": len(self.log),
                    "last_log_term": self.last_log_term(),
                },
            )

    def observe_term(self, term: int) -> None:
        """Any message from a later term makes this node a follower in that term."""
        if term <= self.term:
            return
        if self.role == "leader":
            # Writes still waiting here may or may not commit under the next leader:
            # their clients get no answer, which they must read as "unknown".
            self.note(f"stepping down: saw term {term}; {len(self.waiting)} writes unanswered")
            self.waiting.clear()
        self.term = term
        self.voted_for = None
        self.role = "follower"
        self.leader = None

    def on_request_vote(self, src: str, body: dict) -> None:
        self.observe_term(body["term"])
        # Only vote for a candidate whose log holds everything this node's log holds:
        # a committed entry is on a majority, so a new leader always has it.
        up_to_date = (body["last_log_term"], body["last_log_index"]) >= (
            self.last_log_term(),
            len(self.log),
        )
        granted = body["term"] == self.term and self.voted_for in (None, src) and up_to_date
        if granted:
            self.voted_for = src
            self.reset_election_timer()
        self.send(src, {"type": "vote", "term": self.term, "granted": granted})

    def on_vote(self, src: str, body: dict) -> None:
        self.observe_term(body["term"])
        if self.role != "candidate" or body["term"] != self.term or not body["granted"]:
            return
        self.votes.add(src)
        if len(self.votes) > len(self.node_ids) // 2:
            self.become_leader()

    def become_leader(self) -> None:
        self.role = "leader"
        self.leader = self.id
        self.note(f"leader for term {self.term} (log length {len(self.log)})")
        self.next_index = {peer: len(self.log) for peer in self.peers()}
        self.match_index = {peer: 0 for peer in self.peers()}
        # A leader may only count replicas for entries of its own term; this no-op lets
        # the entries it inherited commit along with it.
        self.log.append([self.term, None])
        self.replicate()

    # -- replication ------------------------------------------------------------------

    def replicate(self) -> None:
        self.next_heartbeat = self.now + HEARTBEAT_MS
        for peer in self.peers():
            prev = self.next_index[peer]
            self.send(
                peer,
                {
                    "type": "append",
                    "term": self.term,
                    "prev_index": prev,
                    "prev_term": self.log[prev - 1][0] if prev else 0,
                    "entries": self.log[prev : prev + MAX_ENTRIES_PER_APPEND],
                    "commit": self.commit_length,
                },
            )

    def on_append(self, src: str, body: dict) -> None:
        self.observe_term(body["term"])
        if body["term"] < self.term:
            self.send(src, {"type": "append_ok", "term": self.term, "success": False, "hint": 0})
            return
        self.role = "follower"
        self.leader = src
        self.reset_election_timer()
        prev = body["prev_index"]
        if prev > len(self.log) or (prev and self.log[prev - 1][0] != body["prev_term"]):
            # Tell the leader where to back up to: the start of the conflicting term.
            hint = min(prev - 1, len(self.log))
            if hint < len(self.log):
                conflict = self.log[hint][0]
                while hint > 0 and self.log[hint - 1][0] == conflict:
                    hint -= 1
            self.send(src, {"type": "append_ok", "term": self.term, "success": False, "hint": hint})
            return
        index = prev
        for entry in body["entries"]:
            if index < len(self.log) and self.log[index][0] != entry[0]:
                dropped = len(self.log) - index
                committed = max(0, self.commit_length - index)
                self.note(
                    f"log conflicts with leader {src} at index {index}: dropping {dropped} "
                    f"entries ({committed} of them committed here)"
                )
                del self.log[index:]
                self.commit_length = min(self.commit_length, index)
            if index >= len(self.log):
                self.log.append(entry)
            index += 1
        self.commit_length = max(self.commit_length, min(body["commit"], index))
        self.send(src, {"type": "append_ok", "term": self.term, "success": True, "match": index})

    def on_append_ok(self, src: str, body: dict) -> None:
        self.observe_term(body["term"])
        if self.role != "leader" or body["term"] != self.term:
            return
        if body["success"]:
            self.match_index[src] = max(self.match_index[src], body["match"])
            self.next_index[src] = max(self.next_index[src], body["match"])
            self.advance_commit()
        else:
            self.next_index[src] = max(0, min(self.next_index[src] - 1, body["hint"]))

    def advance_commit(self) -> None:
        for index in range(len(self.log), self.commit_length, -1):
            if self.log[index - 1][0] != self.term:
                break
            # Acknowledge once a quorum of the cluster holds the entry.
            replicas = 1 + sum(self.match_index[p] >= index for p in self.peers())
            if replicas >= len(self.node_ids) // 2:
                self.commit_length = index
                break
        for index in sorted(i for i in self.waiting if i <= self.commit_length):
            client, msg_id = self.waiting.pop(index)
            for channel in self.channels:
                channel.publish(self.log[index - 1][1])
            self.send(client, {"type": "add_ok", "in_reply_to": msg_id})

    # -- clients ----------------------------------------------------------------------

    def on_add(self, src: str, body: dict) -> None:
        if self.role != "leader":
            # Nothing was written: a definite failure the client may retry elsewhere.
            error = {"type": "error", "in_reply_to": body["msg_id"], "text": "not the leader"}
            if self.leader is not None:
                error["leader"] = self.leader
            self.send(src, error)
            return
        self.log.append([self.term, body["element"]])
        self.waiting[len(self.log)] = (src, body["msg_id"])
        self.advance_commit()

    def on_read(self, src: str, body: dict) -> None:
        elements = [element for _, element in self.log[: self.commit_length] if element is not None]
        heard = set()
        for channel in self.channels:
            try:
                heard |= channel.heard()
            except OSError as error:
                print(f"{self.id}: {channel.name} failed: {error}", file=sys.stderr)
        elements += sorted(heard - set(elements))
        self.send(src, {"type": "read_ok", "in_reply_to": body["msg_id"], "elements": elements})


def main() -> None:
    node = Node()
    for line in sys.stdin:
        reply = node.handle(json.loads(line))
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
