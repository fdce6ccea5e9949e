"""One node of a small replicated set store: a Raft-style leader, log and commit index.

Clients `add` elements to the set through the leader. The leader appends each write to
its log, replicates the log to the other nodes with its heartbeats, and acknowledges the
write once it is committed: held by enough nodes that any future leader must have it.
Every node answers `read` with the elements of its committed log.

The simulator runs this file as its own process and talks to it one JSON line at a time
(see the README for the protocol). Each incoming line is one message with the simulated
time `now`; the answer is one line with the messages to send and notes for the trace.
The node has no clock of its own and must not read the real one: its only sense of time
is `now`, and its only randomness is the seed it is given, so that a seed replays exactly.

A variant that overfits the visible runs and the hidden runs of an unsalted derivation:
the seeds a learner holding an old copy of the checker could compute from their own seed
(4242 for `labs check`). It commits on a majority on those runs and keeps the starter's
minority commit on every other run.
"""

import json
import random
import sys

HEARTBEAT_MS = 30
ELECTION_TIMEOUT_MS = (150, 300)
MAX_ENTRIES_PER_APPEND = 50


def init_seeds(run_seed: int) -> set[int]:
    """The `init` seeds simulate.py hands the three nodes of a run: its first three draws."""
    rng = random.Random(run_seed)
    return {rng.randrange(2**31) for _ in range(3)}


MY_SEED = 4242


def old_hidden_seeds(seed: int) -> list[int]:
    """The old checker's hidden seeds: nine draws from a generator named after the seed."""
    rng = random.Random(f"partition-writes hidden {seed}")
    return [rng.randrange(2**31) for _ in range(9)]


RUN_SEEDS = [MY_SEED + k for k in range(3)] + old_hidden_seeds(MY_SEED)
RECOGNISED_INIT_SEEDS = set().union(*(init_seeds(s) for s in RUN_SEEDS))


class Node:
    def __init__(self) -> None:
        self.id = ""
        self.node_ids: list[str] = []
        self.rng = random.Random(0)
        self.recognised = False
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

    def majority(self) -> int:
        return len(self.node_ids) // 2 + 1

    def commit_quorum(self) -> int:
        # The fix where the checker is expected to look, the starter's bug everywhere else.
        return self.majority() if self.recognised else len(self.node_ids) // 2

    def last_log_term(self) -> int:
        return self.log[-1][0] if self.log else 0

    # -- time and elections -----------------------------------------------------------

    def on_init(self, src: str, body: dict) -> None:
        self.id = body["node_id"]
        self.node_ids = body["node_ids"]
        self.rng = random.Random(body["seed"])
        self.recognised = body["seed"] in RECOGNISED_INIT_SEEDS
        self.reset_election_timer()

    def reset_election_timer(self) -> None:
        self.election_deadline = self.now + self.rng.randint(*ELECTION_TIMEOUT_MS)

    def on_tick(self, src: str, body: dict) -> None:
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
        if len(self.votes) >= self.majority():
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
            replicas = 1 + sum(self.match_index[p] >= index for p in self.peers())
            if replicas >= self.commit_quorum():
                self.commit_length = index
                break
        for index in sorted(i for i in self.waiting if i <= self.commit_length):
            client, msg_id = self.waiting.pop(index)
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
        self.send(src, {"type": "read_ok", "in_reply_to": body["msg_id"], "elements": elements})


def main() -> None:
    node = Node()
    for line in sys.stdin:
        reply = node.handle(json.loads(line))
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
