"""Jepsen's set check over one simulated history: which writes were lost, which appeared.

A write `add x` has one of three outcomes in the history: `ok` (acknowledged), `fail`
(the store said it did not happen) or `info` (no answer: it may or may not have happened).
After the cluster settles, every node is read once. Then:

- lost: acknowledged, but missing from some node's final read;
- unexpected: in some node's final read, but never attempted or definitely failed;
- recovered: indeterminate (`info`) and present: allowed, as is indeterminate and absent.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SetCheck:
    attempted: frozenset
    acknowledged: frozenset
    failed: frozenset
    indeterminate: frozenset
    lost: frozenset
    unexpected: frozenset
    recovered: frozenset
    unread_nodes: tuple[str, ...]  # nodes that never answered the final read

    @property
    def valid(self) -> bool:
        return not (self.lost or self.unexpected or self.unread_nodes)

    @property
    def availability(self) -> float:
        """The share of attempted writes that were acknowledged."""
        return len(self.acknowledged) / len(self.attempted) if self.attempted else 0.0


def set_check(history: list[dict], nodes: tuple[str, ...]) -> SetCheck:
    outcomes: dict[str, set] = {"invoke": set(), "ok": set(), "fail": set(), "info": set()}
    reads: dict[str, set] = {}
    for event in history:
        if event.get("f") == "add" and event.get("type") in outcomes:
            outcomes[event["type"]].add(event["value"])
        elif event.get("f") == "read" and event.get("type") == "ok":
            reads[event["node"]] = set(event["value"])
    acknowledged = frozenset(outcomes["ok"])
    failed = frozenset(outcomes["fail"])
    present = set().union(*reads.values())
    lost = set()
    for elements in reads.values():
        lost |= acknowledged - elements
    return SetCheck(
        attempted=frozenset(outcomes["invoke"]),
        acknowledged=acknowledged,
        failed=failed,
        indeterminate=frozenset(outcomes["info"]),
        lost=frozenset(lost),
        unexpected=frozenset(present - (outcomes["invoke"] - failed)),
        recovered=frozenset(present & outcomes["info"]),
        unread_nodes=tuple(n for n in nodes if n not in reads),
    )
