"""One node of a replicated set store with no leader: a grow-only set (G-Set CRDT).

Adding to a set commutes, so the nodes need not agree on an order at all. Every node
accepts writes, acknowledges them once they are in its own set, and keeps telling its
peers what it holds; a node merges what it hears by union. A partition only delays the
merge: once it heals, every node ends up with every element any node acknowledged.

Same protocol as the Raft-style node: one JSON message in, one JSON answer out.
"""

import json
import sys

GOSSIP_MS = 40


class Node:
    def __init__(self) -> None:
        self.id = ""
        self.node_ids: list[str] = []
        self.elements: set[int] = set()
        # What each peer has confirmed holding, so gossip only carries the difference.
        self.peer_has: dict[str, set[int]] = {}
        self.next_gossip = 0
        self.outbox: list[dict] = []

    def handle(self, message: dict) -> dict:
        self.outbox = []
        now, src, body = message["now"], message["src"], message["body"]
        kind = body["type"]
        if kind == "init":
            self.id = body["node_id"]
            self.node_ids = body["node_ids"]
            self.peer_has = {peer: set() for peer in self.node_ids if peer != self.id}
        elif kind == "tick" and now >= self.next_gossip:
            self.next_gossip = now + GOSSIP_MS
            for peer, known in self.peer_has.items():
                missing = sorted(self.elements - known)
                if missing:
                    self.send(peer, {"type": "gossip", "elements": missing})
        elif kind == "gossip":
            self.elements.update(body["elements"])
            self.send(src, {"type": "gossip_ok", "elements": body["elements"]})
        elif kind == "gossip_ok":
            self.peer_has[src].update(body["elements"])
        elif kind == "add":
            self.elements.add(body["element"])
            self.send(src, {"type": "add_ok", "in_reply_to": body["msg_id"]})
        elif kind == "read":
            elements = sorted(self.elements)
            self.send(src, {"type": "read_ok", "in_reply_to": body["msg_id"], "elements": elements})
        return {"send": self.outbox, "log": []}

    def send(self, dest: str, body: dict) -> None:
        self.outbox.append({"dest": dest, "body": body})


def main() -> None:
    node = Node()
    for line in sys.stdin:
        reply = node.handle(json.loads(line))
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
