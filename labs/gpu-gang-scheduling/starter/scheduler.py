"""The cluster's scheduler: which waiting pod goes to which GPU, once per cycle.

The simulator starts this file as a process of its own and speaks JSON lines with it
(see the README): first an `init` message with the cluster's shape, then one `cycle`
message per cycle in which anything waits, with the GPUs, the waiting pods, the gangs
and the tenants' quotas. Each message gets one line back: {"bindings": [...]}, where a
binding is {"pod", "node", "gpu"} for a training pod (one whole GPU) and {"pod", "node",
"gpu", "start"} for an inference pod (a MIG instance starting at that memory slice).

Today it works like the default kube-scheduler: one pod at a time, in the order the
pods were created, each on the node with the most free GPUs (spreading the load). It
knows nothing of gangs, NVLink islands or how MIG instances fragment a GPU.
"""

import json
import sys


class View:
    """What is free this cycle, updated as this cycle's bindings are chosen."""

    def __init__(self, init: dict, state: dict) -> None:
        self.profiles = init["profiles"]
        self.free: dict[str, list[int]] = {}  # node -> free whole GPUs
        self.mig: dict[tuple[str, int], set[int]] = {}  # MIG GPU -> taken memory slices
        for gpu in state["gpus"]:
            if gpu["mig"]:
                taken = set()
                for instance in gpu["instances"]:
                    size = self.profiles[instance["profile"]]["memory"]
                    taken |= set(range(instance["start"], instance["start"] + size))
                self.mig[(gpu["node"], gpu["gpu"])] = taken
            else:
                self.free.setdefault(gpu["node"], [])
                if gpu["pod"] is None:
                    self.free[gpu["node"]].append(gpu["gpu"])
        self.used = {name: tenant["used"] for name, tenant in state["tenants"].items()}
        self.limit = {
            name: tenant["nominal"] + tenant["borrowing_limit"]
            for name, tenant in state["tenants"].items()
        }

    def starts(self, gpu: tuple[str, int], profile: str) -> list[int]:
        """The memory slices an instance of `profile` could start at on this MIG GPU."""
        size = self.profiles[profile]["memory"]
        taken = self.mig[gpu]
        return [
            start
            for start in self.profiles[profile]["starts"]
            if not taken & set(range(start, start + size))
        ]


class Scheduler:
    def __init__(self, init: dict) -> None:
        self.init = init

    def schedule(self, state: dict) -> list[dict]:
        view = View(self.init, state)
        bindings = []
        for pod in state["pending"]:
            if pod["kind"] == "train":
                binding = self.place_training_pod(pod, view)
            else:
                binding = self.place_inference_pod(pod, view)
            if binding is not None:
                bindings.append(binding)
        return bindings

    def place_training_pod(self, pod: dict, view: View) -> dict | None:
        # Filter: the tenant's quota, and nodes with a free whole GPU.
        if view.used[pod["tenant"]] + 1 > view.limit[pod["tenant"]]:
            return None
        nodes = [node for node, free in view.free.items() if free]
        if not nodes:
            return None
        # Score: the least allocated node wins, as the default scheduler spreads pods.
        node = max(nodes, key=lambda n: len(view.free[n]))  # ties: the first node
        gpu = view.free[node].pop(0)
        view.used[pod["tenant"]] += 1
        return {"pod": pod["pod"], "node": node, "gpu": gpu}

    def place_inference_pod(self, pod: dict, view: View) -> dict | None:
        profile = pod["profile"]
        fits = [gpu for gpu in sorted(view.mig) if view.starts(gpu, profile)]
        if not fits:
            return None
        # Score: the emptiest MIG GPU wins (spreading again).
        gpu = max(fits, key=lambda g: -len(view.mig[g]))
        start = view.starts(gpu, profile)[0]
        size = view.profiles[profile]["memory"]
        view.mig[gpu] |= set(range(start, start + size))
        return {"pod": pod["pod"], "node": gpu[0], "gpu": gpu[1], "start": start}


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
