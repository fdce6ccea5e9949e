"""A gang scheduler with a reservation for the job that has waited longest, and backfill.

Gangs are admitted whole, in arrival order. A gang that cannot start is passed by later
ones (backfill) only while it is young; once the oldest waiting gang has waited
RESERVE_AFTER cycles, it holds a reservation: the GPUs that free up are kept for it,
and nothing else starts until it does, so a large gang is never starved by a stream
of small ones. A gang goes to the island where it leaves the most free GPUs behind in
the other islands' favour: the island with the fewest free GPUs that holds it (packing
by node within it); a gang larger than an island fills the emptiest islands. MIG
instances go where the fewest compute slices are left that still take them (best fit
by compute), at the lowest valid start.

It keeps no state between cycles: everything it needs is in each cycle's message.
"""

import json
import sys

RESERVE_AFTER = 40


def memory_of(profiles: dict, profile: str, start: int) -> set[int]:
    return set(range(start, start + profiles[profile]["memory"]))


class Scheduler:
    def __init__(self, init: dict) -> None:
        self.profiles = init["profiles"]
        self.island_of = {node["name"]: node["island"] for node in init["nodes"]}
        self.island_limit = init["island_gang_limit"]

    def schedule(self, state: dict) -> list[dict]:
        now = state["now"]
        bindings = self.inference(state)
        free: dict[str, dict[str, list[int]]] = {}  # island -> node -> free GPUs
        for gpu in state["gpus"]:
            if not gpu["mig"]:
                nodes = free.setdefault(gpu["island"], {})
                nodes.setdefault(gpu["node"], [])
                if gpu["pod"] is None:
                    nodes[gpu["node"]].append(gpu["gpu"])
        room = {
            name: t["nominal"] + t["borrowing_limit"] - t["used"]
            for name, t in state["tenants"].items()
        }
        waiting: dict[str, list[str]] = {}
        for pod in state["pending"]:
            if pod["kind"] == "train":
                waiting.setdefault(pod["gang"], []).append(pod["pod"])
        for gang in sorted(state["gangs"], key=lambda g: (g["arrived"], g["name"])):
            pods = waiting.get(gang["name"], [])
            ready = gang["created"] == gang["min_member"] == len(pods)
            places = self.place(gang, free) if ready and room[gang["tenant"]] >= len(pods) else None
            if places is None:
                if now - gang["arrived"] >= RESERVE_AFTER:
                    break  # the reservation: nothing passes this gang any more
                continue
            room[gang["tenant"]] -= len(pods)
            bindings += [
                {"pod": pod, "node": node, "gpu": gpu}
                for pod, (node, gpu) in zip(pods, places, strict=True)
            ]
        return bindings

    def place(self, gang: dict, free: dict) -> list[tuple[str, int]] | None:
        size = gang["min_member"]
        counts = {island: sum(map(len, nodes.values())) for island, nodes in free.items()}
        if size <= self.island_limit:
            fitting = sorted((n, island) for island, n in counts.items() if n >= size)
            if not fitting:
                return None
            order = [fitting[0][1]]
        else:
            if sum(counts.values()) < size:
                return None
            order = sorted(counts, key=lambda island: (-counts[island], island))
        places: list[tuple[str, int]] = []
        for island in order:
            nodes = free[island]
            for node in sorted(nodes, key=lambda n: (len(nodes[n]), n)):
                while nodes[node] and len(places) < size:
                    places.append((node, nodes[node].pop()))
        return places

    def inference(self, state: dict) -> list[dict]:
        taken: dict[tuple[str, int], set[int]] = {}
        compute: dict[tuple[str, int], int] = {}
        for gpu in state["gpus"]:
            if gpu["mig"]:
                key = (gpu["node"], gpu["gpu"])
                taken[key] = set()
                compute[key] = 0
                for instance in gpu["instances"]:
                    taken[key] |= memory_of(self.profiles, instance["profile"], instance["start"])
                    compute[key] += self.profiles[instance["profile"]]["compute"]
        bindings = []
        for pod in state["pending"]:
            if pod["kind"] != "inference":
                continue
            profile = pod["profile"]
            options = []
            for key in sorted(taken):
                for start in self.profiles[profile]["starts"]:
                    if not taken[key] & memory_of(self.profiles, profile, start):
                        options.append((7 - compute[key], key, start))
                        break
            if not options:
                continue
            _, key, start = min(options)
            taken[key] |= memory_of(self.profiles, profile, start)
            compute[key] += self.profiles[profile]["compute"]
            bindings.append({"pod": pod["pod"], "node": key[0], "gpu": key[1], "start": start})
        return bindings


def main() -> None:
    scheduler = None
    for line in sys.stdin:
        message = json.loads(line)
        if message["type"] == "init":
            scheduler = Scheduler(message)
            answer = {"bindings": []}
        else:
            answer = {"bindings": scheduler.schedule(message)}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
