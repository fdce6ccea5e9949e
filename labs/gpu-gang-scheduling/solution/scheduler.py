"""The cluster's scheduler: gang admission, NVLink-island packing and MIG bin-packing.

The simulator starts this file as a process of its own and speaks JSON lines with it
(see the README): first an `init` message with the cluster's shape, then one `cycle`
message per cycle in which anything waits. Each message gets one line back:
{"bindings": [...]}.

- A gang is bound all at once or not at all (the coscheduling plugin's Permit stage):
  only when every pod of its PodGroup exists, its tenant's quota plus borrowing limit
  has room for all of them (Kueue's admission), and there is a placement for all of them.
- A gang that fits in one NVLink island goes to the island with the fewest free GPUs
  that still holds it (best fit), filling the fullest node first; a larger gang takes
  the emptiest islands first, so that it spans as few as it can.
- Gangs are considered in arrival order; one that cannot start now is skipped, and later
  ones that fit go ahead of it (backfilling).
- An inference pod goes to the MIG GPU with the fewest free memory slices that still has
  a valid start for its profile (best fit), so that whole free GPUs stay free for the
  large profiles; on that GPU, at the lowest valid start.
"""

import json
import sys


class Free:
    """The free capacity of one cycle, taken from as this cycle's bindings are chosen."""

    def __init__(self, init: dict, state: dict) -> None:
        self.profiles = init["profiles"]
        self.island_of = {node["name"]: node["island"] for node in init["nodes"]}
        self.whole: dict[str, list[int]] = {}  # node -> its free whole GPUs
        self.taken: dict[tuple[str, int], set[int]] = {}  # MIG GPU -> taken memory slices
        for gpu in state["gpus"]:
            where = (gpu["node"], gpu["gpu"])
            if gpu["mig"]:
                self.taken[where] = set()
                for instance in gpu["instances"]:
                    self.taken[where] |= self.memory(instance["profile"], instance["start"])
            else:
                self.whole.setdefault(gpu["node"], [])
                if gpu["pod"] is None:
                    self.whole[gpu["node"]].append(gpu["gpu"])
        self.room = {
            name: t["nominal"] + t["borrowing_limit"] - t["used"]
            for name, t in state["tenants"].items()
        }

    def memory(self, profile: str, start: int) -> set[int]:
        return set(range(start, start + self.profiles[profile]["memory"]))

    def island_free(self) -> dict[str, int]:
        free: dict[str, int] = {}
        for node, gpus in self.whole.items():
            free[self.island_of[node]] = free.get(self.island_of[node], 0) + len(gpus)
        return free

    def take_gpus(self, islands: list[str], count: int) -> list[tuple[str, int]]:
        """`count` free GPUs from these islands in this order, fullest node first."""
        chosen: list[tuple[str, int]] = []
        for island in islands:
            nodes = [n for n in self.whole if self.island_of[n] == island and self.whole[n]]
            for node in sorted(nodes, key=lambda n: len(self.whole[n])):
                while self.whole[node] and len(chosen) < count:
                    chosen.append((node, self.whole[node].pop(0)))
        return chosen


class Scheduler:
    def __init__(self, init: dict) -> None:
        self.init = init
        self.island_limit = init["island_gang_limit"]

    def schedule(self, state: dict) -> list[dict]:
        free = Free(self.init, state)
        bindings = []
        for pod in state["pending"]:
            if pod["kind"] == "inference":
                binding = self.place_instance(pod, free)
                if binding is not None:
                    bindings.append(binding)
        pods_of: dict[str, list[str]] = {}
        for pod in state["pending"]:
            if pod["kind"] == "train":
                pods_of.setdefault(pod["gang"], []).append(pod["pod"])
        for gang in sorted(state["gangs"], key=lambda g: (g["arrived"], g["name"])):
            pods = pods_of.get(gang["name"], [])
            if gang["created"] < gang["min_member"] or len(pods) < gang["min_member"]:
                continue  # its job controller has not created every pod yet
            places = self.place_gang(gang, free)
            if places is not None:
                free.room[gang["tenant"]] -= gang["min_member"]
                for pod, (node, gpu) in zip(pods, places, strict=False):
                    bindings.append({"pod": pod, "node": node, "gpu": gpu})
        return bindings

    def place_gang(self, gang: dict, free: Free) -> list[tuple[str, int]] | None:
        """Whole GPUs for every pod of the gang, or None (and nothing taken)."""
        size = gang["min_member"]
        if free.room[gang["tenant"]] < size:
            return None
        islands = free.island_free()
        if size <= self.island_limit:
            holding = [i for i, n in islands.items() if n >= size]
            if not holding:
                return None
            return free.take_gpus([min(holding, key=lambda i: (islands[i], i))], size)
        if sum(islands.values()) < size:
            return None
        return free.take_gpus(sorted(islands, key=lambda i: (-islands[i], i)), size)

    def place_instance(self, pod: dict, free: Free) -> dict | None:
        profile = pod["profile"]
        best = None
        for gpu, taken in sorted(free.taken.items()):
            starts = [
                s for s in free.profiles[profile]["starts"] if not taken & free.memory(profile, s)
            ]
            if starts and (best is None or len(taken) > len(free.taken[best[0]])):
                best = (gpu, starts[0])
        if best is None:
            return None
        (node, index), start = best
        free.taken[(node, index)] |= free.memory(profile, start)
        return {"pod": pod["pod"], "node": node, "gpu": index, "start": start}


class Session:
    """One scheduler process: the init message, then one cycle at a time."""

    def __init__(self) -> None:
        self.scheduler: Scheduler | None = None

    def handle(self, message: dict) -> dict:
        if message["type"] == "init":
            self.scheduler = Scheduler(message)
            return {"bindings": []}
        return {"bindings": self.scheduler.schedule(message)}


def main() -> None:
    session = Session()
    for line in sys.stdin:
        answer = session.handle(json.loads(line))
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
