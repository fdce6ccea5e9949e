"""Availability while a node is cut off: the share of writes sent then that were acknowledged.

Counting every write of a run hides the partitions: they take about a third of the
writing time, so a node that acknowledges nothing while a node is cut off (waiting for
all three replicas) still acknowledges about 80% as many writes as the reference over a
whole run. Counting only the writes invoked while the network is partitioned separates
them: such a node gets under a tenth of the reference's share, a majority-commit node
with election timeouts twice the reference's still two thirds.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PartitionWrites:
    invoked: int  # writes invoked while some node was cut off
    acknowledged: int  # of those, the ones the store acknowledged (at any time)

    def __add__(self, other: PartitionWrites) -> PartitionWrites:
        return PartitionWrites(self.invoked + other.invoked, self.acknowledged + other.acknowledged)

    @property
    def share(self) -> float:
        return self.acknowledged / self.invoked if self.invoked else 0.0


NONE = PartitionWrites(0, 0)


def partition_windows(network: list[tuple[int, str]]) -> list[tuple[int, int]]:
    """[start, end) of each stretch of time in which some node was cut off.

    `network` is the simulator's (time, action) list, in order: a partition action
    starts a stretch (or moves it to another victim), "heal" ends it.
    """
    windows, start = [], None
    for time, action in network:
        if action == "heal":
            if start is not None:
                windows.append((start, time))
            start = None
        elif start is None:
            start = time
    return windows


def writes_during_partitions(
    history: list[dict], network: list[tuple[int, str]]
) -> PartitionWrites:
    windows = partition_windows(network)
    invoked = {
        event["value"]
        for event in history
        if event.get("f") == "add"
        and event.get("type") == "invoke"
        and any(start <= event["time"] < end for start, end in windows)
    }
    acknowledged = {
        event["value"]
        for event in history
        if event.get("f") == "add" and event.get("type") == "ok" and event["value"] in invoked
    }
    return PartitionWrites(len(invoked), len(acknowledged))
