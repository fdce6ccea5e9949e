"""A gang scheduler written the way the scheduling framework's plugins split the work.

For every gang whose pods all exist, each pod goes through Filter (whole GPUs free in
the candidate island, within the tenant's quota and borrowing) and Score (first fit:
the lowest-numbered node of the island, its lowest GPU) into a tentative plan; Permit
then lets the gang's bindings out only when every pod has a place, and otherwise
unreserves them all, as the coscheduling plugin does. Islands are tried in name order
(first fit); a gang larger than an island takes its GPUs island by island in name
order. MIG instances go to the first MIG GPU (in name order) where they fit, at the
highest valid start, so that slice 0, the only start of the large profiles, stays free
as long as possible.
"""

import json
import sys


class Plan:
    """Tentative reservations of one cycle, which Permit confirms or unreserves."""

    def __init__(self, init: dict, state: dict) -> None:
        self.profiles = init["profiles"]
        self.island_limit = init["island_gang_limit"]
        self.islands = sorted({node["island"] for node in init["nodes"] if not node["mig"]})
        self.free: dict[tuple[str, str, int], bool] = {}  # (island, node, gpu) -> free
        self.slices: dict[tuple[str, int], list[bool]] = {}  # MIG GPU -> memory slice taken
        for gpu in state["gpus"]:
            if gpu["mig"]:
                taken = [False] * init["memory_slices"]
                for instance in gpu["instances"]:
                    start = instance["start"]
                    for k in range(start, start + self.profiles[instance["profile"]]["memory"]):
                        taken[k] = True
                self.slices[(gpu["node"], gpu["gpu"])] = taken
            else:
                self.free[(gpu["island"], gpu["node"], gpu["gpu"])] = gpu["pod"] is None
        self.quota_left = {
            name: t["nominal"] + t["borrowing_limit"] - t["used"]
            for name, t in state["tenants"].items()
        }

    def filter_gpus(self, islands: list[str]) -> list[tuple[str, str, int]]:
        return sorted(key for key, free in self.free.items() if free and key[0] in islands)

    def reserve(self, key: tuple[str, str, int]) -> None:
        self.free[key] = False

    def unreserve(self, keys: list[tuple[str, str, int]]) -> None:
        for key in keys:
            self.free[key] = True


class Scheduler:
    def __init__(self, init: dict) -> None:
        self.init = init

    def schedule(self, state: dict) -> list[dict]:
        plan = Plan(self.init, state)
        bindings = []
        members: dict[str, list[str]] = {}
        for pod in state["pending"]:
            if pod["kind"] == "train":
                members.setdefault(pod["gang"], []).append(pod["pod"])
            else:
                binding = self.mig_instance(pod, plan)
                if binding:
                    bindings.append(binding)
        for gang in sorted(state["gangs"], key=lambda g: (g["arrived"], g["name"])):
            pods = members.get(gang["name"], [])
            if len(pods) != gang["min_member"] or gang["bound"]:
                continue
            bindings += self.permit(gang, pods, plan)
        return bindings

    def permit(self, gang: dict, pods: list[str], plan: Plan) -> list[dict]:
        """The gang's bindings when every pod has a place; none (all unreserved) if not."""
        if plan.quota_left[gang["tenant"]] < len(pods):
            return []
        if len(pods) <= plan.island_limit:
            candidates = [[island] for island in plan.islands]
        else:
            candidates = [plan.islands]
        for islands in candidates:
            reserved = []
            for _ in pods:
                fits = plan.filter_gpus(islands)
                if not fits:
                    break
                reserved.append(fits[0])
                plan.reserve(fits[0])
            if len(reserved) == len(pods):
                plan.quota_left[gang["tenant"]] -= len(pods)
                return [
                    {"pod": pod, "node": node, "gpu": gpu}
                    for pod, (_, node, gpu) in zip(pods, reserved, strict=True)
                ]
            plan.unreserve(reserved)
        return []

    def mig_instance(self, pod: dict, plan: Plan) -> dict | None:
        profile = plan.profiles[pod["profile"]]
        for (node, gpu), taken in sorted(plan.slices.items()):
            for start in sorted(profile["starts"], reverse=True):
                span = range(start, start + profile["memory"])
                if not any(taken[k] for k in span):
                    for k in span:
                        taken[k] = True
                    return {"pod": pod["pod"], "node": node, "gpu": gpu, "start": start}
        return None


class Session:
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
        sys.stdout.write(json.dumps(session.handle(json.loads(line))) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
