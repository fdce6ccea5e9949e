"""The GPU cluster, its workloads and a cycle-by-cycle simulation of its scheduler.

The model, in the terms of Kubernetes and NVIDIA's tools:

- 8 nodes of 8 GPUs (80 GB cards), in 4 NVLink islands of 2 nodes. The GPUs of n7 are
  in MIG mode for inference; the other 56 are whole GPUs for training.
- A MIG GPU has 7 compute slices and 8 memory slices. An instance of a profile starts
  only at the memory slices NVIDIA allows for it (PROFILES) and takes that many memory
  slices from there; instances on one GPU may not overlap. A MIG GPU is never used as
  a whole GPU, and a whole GPU never holds MIG instances.
- A training job is a gang (a PodGroup whose minMember is all its pods): one pod per
  whole GPU. Its job controller creates its pods 4 per cycle. The job runs only once
  every pod is bound, and then for its duration; a pod bound before that holds its GPU
  and does nothing.
- An inference pod asks for one MIG instance of a profile and runs once it is bound.
- Training tenants share one cohort (a Kueue cohort of ClusterQueues): each has a
  nominal quota of whole GPUs, and may borrow up to its borrowing limit more while the
  cohort has them unused.

Every cycle (one minute of cluster time) jobs finish, new ones arrive, pods are created,
and, while anything waits, the scheduler is asked for bindings. The cluster refuses a
binding it cannot carry out (an unknown or already bound pod, a GPU that is taken or of
the wrong kind, a MIG instance at a start its profile does not allow or over another,
a tenant past its quota and borrowing limit); it carries out, but counts, the two it
should not be asked for: a gang left partly bound at the end of a cycle, and a gang
that fits in one NVLink island spread over several. The same trace and scheduler always
give the same run, cycle for cycle.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field

GPUS_PER_NODE = 8
ISLANDS = {"i0": ("n0", "n1"), "i1": ("n2", "n3"), "i2": ("n4", "n5"), "i3": ("n6", "n7")}
MIG_NODES = ("n7",)
NODES = tuple(node for nodes in ISLANDS.values() for node in nodes)
ISLAND_OF = {node: island for island, nodes in ISLANDS.items() for node in nodes}
MEMORY_SLICES = 8
COMPUTE_SLICES = 7
# NVIDIA's MIG user guide, "Supported MIG Profiles" (A100 80GB, H100 80GB): compute
# slices, memory slices taken, and the memory slices an instance may start at.
PROFILES = {
    "1g.10gb": {"compute": 1, "memory": 1, "starts": [0, 1, 2, 3, 4, 5, 6]},
    "2g.20gb": {"compute": 2, "memory": 2, "starts": [0, 2, 4]},
    "3g.40gb": {"compute": 3, "memory": 4, "starts": [0, 4]},
    "4g.40gb": {"compute": 4, "memory": 4, "starts": [0]},
    "7g.80gb": {"compute": 7, "memory": 8, "starts": [0]},
}
# The largest number of whole GPUs in one island: a gang of at most this many pods must
# be bound inside one island.
ISLAND_GANG_LIMIT = max(
    sum(GPUS_PER_NODE for node in nodes if node not in MIG_NODES) for nodes in ISLANDS.values()
)
TENANTS = {
    "vision": {"nominal": 20, "borrowing_limit": 12},
    "language": {"nominal": 24, "borrowing_limit": 12},
    "speech": {"nominal": 12, "borrowing_limit": 8},
}
CREATE_PER_CYCLE = 4  # pods a job controller creates per cycle for one gang
DEADLOCK_CYCLES = 30  # cycles in a row of work held hostage by partly bound gangs
ARRIVAL_CYCLES = 240  # new work arrives during these cycles
HORIZON = 1200  # the simulation stops here whatever still waits
TRACES = ("incident", "mig-heavy", "quota-burst")
MAX_LINE_BYTES = 1 << 20


class SchedulerError(Exception):
    """The scheduler broke the protocol: crashed, hung, or answered something malformed."""


# -- workloads ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Gang:
    name: str
    tenant: str
    size: int
    arrive: int
    duration: int

    def pods(self) -> list[str]:
        return [f"{self.name}-{k}" for k in range(self.size)]


@dataclass(frozen=True)
class Inference:
    name: str
    profile: str
    arrive: int
    duration: int


@dataclass(frozen=True)
class Trace:
    name: str
    seed: int
    gangs: tuple[Gang, ...]
    inference: tuple[Inference, ...]


GANG_SIZES = {"vision": (4, 8, 8, 16, 24), "language": (8, 8, 16, 16, 24), "speech": (2, 4, 4, 8)}
PROFILE_MIX = {
    "incident": ("1g.10gb",) * 6 + ("2g.20gb",) * 2 + ("3g.40gb", "4g.40gb", "7g.80gb"),
    "mig-heavy": ("1g.10gb",) * 5
    + ("2g.20gb",) * 2
    + ("3g.40gb",) * 2
    + ("4g.40gb",)
    + ("7g.80gb",) * 2,
    "quota-burst": ("1g.10gb",) * 6 + ("2g.20gb",) * 2 + ("3g.40gb", "7g.80gb"),
}
GANG_EVERY = {"incident": 11, "mig-heavy": 14, "quota-burst": 12}  # mean cycles between gangs
INFERENCE_EVERY = {"incident": 2.0, "mig-heavy": 1.8, "quota-burst": 2.2}


def make_trace(seed: int, name: str = "incident") -> Trace:
    """The workloads of one trace: the same seed and name always give the same trace."""
    if name not in TRACES:
        raise ValueError(f"unknown trace {name!r}: one of {', '.join(TRACES)}")
    rng = random.Random(f"{name}:{seed}")
    arrivals: list[tuple[int, str, int]] = []  # (cycle, tenant, size)
    cycle = 0.0
    while True:
        cycle += rng.expovariate(1 / GANG_EVERY[name])
        if cycle >= ARRIVAL_CYCLES:
            break
        tenant = rng.choice(sorted(TENANTS))
        arrivals.append((int(cycle), tenant, rng.choice(GANG_SIZES[tenant])))
    if name == "incident":
        # A hyperparameter sweep: three large runs submitted together while the cluster
        # is busy; together they need more than it has.
        at = rng.randrange(50, 90)
        arrivals += [(at, "language", 24), (at, "vision", 24), (at + 1, "language", 16)]
    elif name == "quota-burst":
        # One tenant floods the queue at the start, when the cluster is empty: far more
        # than its quota and borrowing limit allow, while the cluster has room.
        arrivals += [(rng.randrange(0, 6), "speech", 4) for _ in range(9)]
    arrivals.sort()
    gangs = tuple(
        Gang(f"train-{k:02d}", tenant, size, at, rng.randrange(20, 90))
        for k, (at, tenant, size) in enumerate(arrivals, start=1)
    )
    inference = []
    cycle = 0.0
    while True:
        cycle += rng.expovariate(1 / INFERENCE_EVERY[name])
        if cycle >= ARRIVAL_CYCLES:
            break
        profile = rng.choice(PROFILE_MIX[name])
        inference.append(
            Inference(f"infer-{len(inference) + 1:03d}", profile, int(cycle), rng.randrange(15, 70))
        )
    return Trace(name, seed, gangs, tuple(inference))


# -- the simulation -----------------------------------------------------------------------


@dataclass
class GangState:
    gang: Gang
    created: int = 0
    bound: dict[str, tuple[str, int]] = field(default_factory=dict)  # pod -> (node, gpu)
    started: int | None = None
    ends: int | None = None
    finished: bool = False
    partial: bool = False  # was ever left partly bound at the end of a cycle
    spread: bool = False  # fits in one island but was bound over several


@dataclass
class PodState:
    job: Inference
    bound: tuple[str, int, int] | None = None  # (node, gpu, start)
    started: int | None = None
    ends: int | None = None
    finished: bool = False


@dataclass(frozen=True)
class Violation:
    cycle: int
    kind: str  # refused | partly-bound | spread
    text: str


@dataclass(frozen=True)
class Deadlock:
    cycle: int
    gang: str  # the oldest gang held hostage
    holders: tuple[tuple[str, str, int], ...]  # (pod, node, gpu) of the other partial gangs


@dataclass
class Result:
    trace: Trace
    cycles: int  # the cycle the simulation ended at
    events: list[str]
    gang_waits: dict[str, int]  # gang -> cycles from arrival to start (or to the end)
    inference_waits: dict[str, int]
    gangs_started: int
    inference_started: int
    pending_gpu_cycles: int  # whole GPUs x cycles while some gang waited
    used_gpu_cycles: int  # of those, GPUs held by running gangs
    violations: list[Violation]
    deadlock: Deadlock | None

    @property
    def utilisation(self) -> float:
        return self.used_gpu_cycles / self.pending_gpu_cycles if self.pending_gpu_cycles else 1.0

    @property
    def mean_gang_wait(self) -> float:
        return sum(self.gang_waits.values()) / max(1, len(self.gang_waits))

    @property
    def mean_inference_wait(self) -> float:
        return sum(self.inference_waits.values()) / max(1, len(self.inference_waits))

    @property
    def progress(self) -> float:
        """The share of the gangs, and of the inference pods, that started (their mean)."""
        gangs = self.gangs_started / max(1, len(self.trace.gangs))
        pods = self.inference_started / max(1, len(self.trace.inference))
        return (gangs + pods) / 2

    def count(self, kind: str) -> int:
        return sum(1 for v in self.violations if v.kind == kind)


def init_message() -> dict:
    """What the scheduler is told once, before the first cycle: the cluster's shape."""
    return {
        "type": "init",
        "nodes": [
            {
                "name": node,
                "island": ISLAND_OF[node],
                "gpus": GPUS_PER_NODE,
                "mig": node in MIG_NODES,
            }
            for node in NODES
        ],
        "profiles": PROFILES,
        "memory_slices": MEMORY_SLICES,
        "island_gang_limit": ISLAND_GANG_LIMIT,
        "tenants": TENANTS,
    }


class Simulation:
    def __init__(self, trace: Trace, scheduler) -> None:
        self.trace = trace
        self.scheduler = scheduler
        self.gangs = {g.name: GangState(g) for g in trace.gangs}
        self.pods = {p.name: PodState(p) for p in trace.inference}
        self.gang_of_pod = {pod: g.name for g in trace.gangs for pod in g.pods()}
        self.whole: dict[tuple[str, int], str | None] = {
            (n, k): None for n in NODES if n not in MIG_NODES for k in range(GPUS_PER_NODE)
        }
        # (node, gpu) -> [(start, memory slices, pod)]
        self.mig: dict[tuple[str, int], list[tuple[int, int, str]]] = {
            (n, k): [] for n in MIG_NODES for k in range(GPUS_PER_NODE)
        }
        self.queue: list[str] = []  # pending pods, in creation order
        self.events: list[str] = []
        self.violations: list[Violation] = []
        self.pending_gpu_cycles = 0
        self.used_gpu_cycles = 0
        self.stuck_since: int | None = None
        self.deadlock: Deadlock | None = None

    def log(self, now: int, text: str) -> None:
        self.events.append(f"cycle {now:4d} {text}")

    def run(self) -> Result:
        answer = self.scheduler.ask(init_message())
        check_answer(answer)
        now = 0
        for now in range(HORIZON + 1):
            self.finish(now)
            self.arrive(now)
            if self.waiting():
                self.schedule(now)
            self.account(now)
            if self.deadlock or (now >= ARRIVAL_CYCLES and self.all_done()):
                break
        return self.result(now)

    # -- one cycle ---------------------------------------------------------------------

    def finish(self, now: int) -> None:
        for state in self.gangs.values():
            if state.ends == now:
                state.finished = True
                for node, gpu in state.bound.values():
                    self.whole[(node, gpu)] = None
                self.log(now, f"finish gang {state.gang.name} ({state.gang.size} GPUs released)")
        for state in self.pods.values():
            if state.ends == now:
                state.finished = True
                node, gpu, start = state.bound
                self.mig[(node, gpu)] = [i for i in self.mig[(node, gpu)] if i[0] != start]
                self.log(now, f"finish pod {state.job.name}")

    def arrive(self, now: int) -> None:
        for gang in self.trace.gangs:
            if gang.arrive == now:
                self.log(
                    now,
                    f"arrive gang {gang.name} tenant={gang.tenant} min_member={gang.size} "
                    f"duration={gang.duration}",
                )
        for state in self.gangs.values():
            gang = state.gang
            if gang.arrive <= now and state.created < gang.size:
                made = gang.pods()[state.created : state.created + CREATE_PER_CYCLE]
                state.created += len(made)
                self.queue += made
                self.log(now, f"create {' '.join(made)}")
        for job in self.trace.inference:
            if job.arrive == now:
                self.queue.append(job.name)
                self.log(
                    now, f"arrive pod {job.name} profile={job.profile} duration={job.duration}"
                )

    def waiting(self) -> bool:
        return bool(self.queue)

    def all_done(self) -> bool:
        return all(s.finished for s in self.gangs.values()) and all(
            s.finished for s in self.pods.values()
        )

    def schedule(self, now: int) -> None:
        answer = self.scheduler.ask(self.cycle_message(now))
        bindings = check_answer(answer)
        if len(bindings) > len(self.queue):
            raise SchedulerError(
                f"answered {len(bindings)} bindings in cycle {now}, when only "
                f"{len(self.queue)} pods wait: at most one binding per waiting pod"
            )
        groups: dict[str, list[dict]] = {}
        for binding in bindings:
            pod = binding["pod"]
            groups.setdefault(self.gang_of_pod.get(pod, pod), []).append(binding)
        for name, group in groups.items():
            problem = self.refusal(name, group)
            if problem:
                self.violations.append(Violation(now, "refused", problem))
                self.log(now, f"refuse {problem}")
            else:
                self.apply(now, name, group)
        for state in self.gangs.values():
            if state.started is None and state.bound:
                if not state.partial:
                    state.partial = True
                    text = (
                        f"gang {state.gang.name} partly bound: {len(state.bound)} of "
                        f"{state.gang.size} pods hold GPUs"
                    )
                    self.violations.append(Violation(now, "partly-bound", text))

    def cycle_message(self, now: int) -> dict:
        gpus = []
        for node in NODES:
            for k in range(GPUS_PER_NODE):
                entry = {"node": node, "gpu": k, "island": ISLAND_OF[node]}
                if node in MIG_NODES:
                    entry["mig"] = True
                    entry["instances"] = [
                        {"pod": pod, "profile": self.pods[pod].job.profile, "start": start}
                        for start, _, pod in sorted(self.mig[(node, k)])
                    ]
                else:
                    entry["mig"] = False
                    entry["pod"] = self.whole[(node, k)]
                gpus.append(entry)
        pending = []
        for pod in self.queue:
            if pod in self.gang_of_pod:
                gang = self.gangs[self.gang_of_pod[pod]].gang
                pending.append(
                    {"pod": pod, "kind": "train", "gang": gang.name, "tenant": gang.tenant}
                )
            else:
                job = self.pods[pod].job
                pending.append(
                    {"pod": pod, "kind": "inference", "profile": job.profile, "arrived": job.arrive}
                )
        gangs = [
            {
                "name": s.gang.name,
                "tenant": s.gang.tenant,
                "min_member": s.gang.size,
                "created": s.created,
                "bound": len(s.bound),
                "arrived": s.gang.arrive,
            }
            for s in self.gangs.values()
            if s.gang.arrive <= now and s.started is None
        ]
        return {
            "type": "cycle",
            "now": now,
            "gpus": gpus,
            "pending": pending,
            "gangs": gangs,
            "tenants": {
                name: {**quota, "used": self.used(name)} for name, quota in TENANTS.items()
            },
        }

    def used(self, tenant: str) -> int:
        return sum(
            len(s.bound) for s in self.gangs.values() if s.gang.tenant == tenant and not s.finished
        )

    def refusal(self, name: str, group: list[dict]) -> str:
        """Why the cluster cannot carry out these bindings of one gang or pod ("" if it can)."""
        pods = [b["pod"] for b in group]
        if len(set(pods)) != len(pods):
            return f"{name}: a pod is bound twice in one answer"
        for pod in pods:
            if pod not in self.queue:
                known = pod in self.gang_of_pod or pod in self.pods
                why = "not waiting (bound, or not created yet)" if known else "no such pod"
                return f"{pod}: {why}"
        if name in self.gangs:
            return self.gang_refusal(self.gangs[name], group)
        return self.mig_refusal(self.pods[name], group[0])

    def gang_refusal(self, state: GangState, group: list[dict]) -> str:
        seen = set()
        for b in group:
            where = (b["node"], b["gpu"])
            if where not in self.whole:
                kind = "a MIG GPU" if where in self.mig else "no such GPU"
                at = f"{b['pod']} -> {b['node']}/gpu{b['gpu']}"
                return f"{at}: {kind}; training pods take whole GPUs"
            if self.whole[where] is not None or where in seen:
                holder = self.whole[where] or "another pod of this answer"
                return f"{b['pod']} -> {b['node']}/gpu{b['gpu']}: the GPU is held by {holder}"
            seen.add(where)
        tenant = state.gang.tenant
        quota = TENANTS[tenant]
        limit = quota["nominal"] + quota["borrowing_limit"]
        if self.used(tenant) + len(group) > limit:
            return (
                f"{state.gang.name}: tenant {tenant} would use {self.used(tenant) + len(group)} "
                f"GPUs, past its nominal quota {quota['nominal']} plus borrowing limit "
                f"{quota['borrowing_limit']}"
            )
        return ""

    def mig_refusal(self, state: PodState, b: dict) -> str:
        where = (b["node"], b["gpu"])
        at = f"{b['pod']} -> {b['node']}/gpu{b['gpu']}"
        if where not in self.mig:
            kind = "a whole GPU" if where in self.whole else "no such GPU"
            return f"{at}: {kind}; inference pods take MIG instances"
        profile = PROFILES[state.job.profile]
        start = b.get("start")
        if start not in profile["starts"]:
            allowed = ", ".join(map(str, profile["starts"]))
            return f"{at}: {state.job.profile} may start at memory slice {allowed}, not {start}"
        taken = slices(self.mig[where])
        wanted = set(range(start, start + profile["memory"]))
        if taken & wanted:
            return f"{at}: memory slices {sorted(taken & wanted)} are taken by another instance"
        compute = sum(PROFILES[self.pods[p].job.profile]["compute"] for _, _, p in self.mig[where])
        if compute + profile["compute"] > COMPUTE_SLICES:
            return f"{at}: the GPU has {COMPUTE_SLICES - compute} compute slices left"
        return ""

    def apply(self, now: int, name: str, group: list[dict]) -> None:
        for b in group:
            self.queue.remove(b["pod"])
        if name in self.pods:
            state, b = self.pods[name], group[0]
            size = PROFILES[state.job.profile]["memory"]
            self.mig[(b["node"], b["gpu"])].append((b["start"], size, name))
            state.bound = (b["node"], b["gpu"], b["start"])
            state.started, state.ends = now, now + state.job.duration
            self.log(
                now,
                f"bind {name} -> {b['node']}/gpu{b['gpu']} {state.job.profile} at memory slice "
                f"{b['start']}",
            )
            return
        state = self.gangs[name]
        for b in group:
            self.whole[(b["node"], b["gpu"])] = b["pod"]
            state.bound[b["pod"]] = (b["node"], b["gpu"])
            self.log(now, f"bind {b['pod']} -> {b['node']}/gpu{b['gpu']}")
        if len(state.bound) == state.gang.size:
            state.started, state.ends = now, now + state.gang.duration
            islands = sorted({ISLAND_OF[node] for node, _ in state.bound.values()})
            self.log(
                now, f"start gang {state.gang.name} on {len(islands)} island(s) {','.join(islands)}"
            )
            if state.gang.size <= ISLAND_GANG_LIMIT and len(islands) > 1:
                state.spread = True
                text = (
                    f"gang {state.gang.name} of {state.gang.size} pods spread over islands "
                    f"{', '.join(islands)} although one island holds {ISLAND_GANG_LIMIT}"
                )
                self.violations.append(Violation(now, "spread", text))

    # -- bookkeeping -----------------------------------------------------------------

    def account(self, now: int) -> None:
        waiting = [s for s in self.gangs.values() if s.gang.arrive <= now and s.started is None]
        if waiting:
            self.pending_gpu_cycles += len(self.whole)
            self.used_gpu_cycles += sum(
                s.gang.size for s in self.gangs.values() if s.started is not None and not s.finished
            )
        hostages = self.hostages(waiting)
        if not hostages:
            self.stuck_since = None
            return
        if self.stuck_since is None:
            self.stuck_since = now
        if now - self.stuck_since + 1 >= DEADLOCK_CYCLES:
            oldest = min(hostages, key=lambda s: (s.gang.arrive, s.gang.name))
            holders = tuple(
                sorted(
                    (pod, node, gpu)
                    for s in waiting
                    if s.bound and s is not oldest
                    for pod, (node, gpu) in s.bound.items()
                )
            )
            self.deadlock = Deadlock(now, oldest.gang.name, holders)
            free = sum(1 for holder in self.whole.values() if holder is None)
            held = sum(len(s.bound) for s in waiting)
            self.log(
                now,
                f"deadlock: gang {oldest.gang.name} has waited since cycle {oldest.gang.arrive}; "
                f"for {DEADLOCK_CYCLES} cycles it would have fitted had the partly bound gangs "
                f"released their GPUs ({free} whole GPUs free, {held} held by partly bound gangs)",
            )

    def hostages(self, waiting: list[GangState]) -> list[GangState]:
        """Waiting gangs that do not fit in the free whole GPUs but would if the other
        partly bound gangs released theirs."""
        free = sum(1 for holder in self.whole.values() if holder is None)
        held = sum(len(s.bound) for s in waiting)
        found = []
        for s in waiting:
            need = s.gang.size - len(s.bound)
            if free < need <= free + held - len(s.bound):
                found.append(s)
        return found

    def result(self, now: int) -> Result:
        gang_waits = {
            name: (s.started if s.started is not None else now) - s.gang.arrive
            for name, s in self.gangs.items()
            if s.gang.arrive <= now
        }
        inference_waits = {
            name: (s.started if s.started is not None else now) - s.job.arrive
            for name, s in self.pods.items()
            if s.job.arrive <= now
        }
        return Result(
            trace=self.trace,
            cycles=now,
            events=self.events,
            gang_waits=gang_waits,
            inference_waits=inference_waits,
            gangs_started=sum(1 for s in self.gangs.values() if s.started is not None),
            inference_started=sum(1 for s in self.pods.values() if s.started is not None),
            pending_gpu_cycles=self.pending_gpu_cycles,
            used_gpu_cycles=self.used_gpu_cycles,
            violations=self.violations,
            deadlock=self.deadlock,
        )


def slices(instances: list[tuple[int, int, str]]) -> set[int]:
    return {k for start, size, _ in instances for k in range(start, start + size)}


def check_answer(answer: object) -> list[dict]:
    """The bindings of one answer, or SchedulerError saying what is wrong with it."""
    if not isinstance(answer, dict) or not isinstance(answer.get("bindings"), list):
        raise SchedulerError(f'answered {json.dumps(answer)[:200]}; expected {{"bindings": [...]}}')
    for b in answer["bindings"]:
        fine = (
            isinstance(b, dict)
            and isinstance(b.get("pod"), str)
            and isinstance(b.get("node"), str)
            and type(b.get("gpu")) is int
            and (b.get("start") is None or type(b.get("start")) is int)
        )
        if not fine:
            raise SchedulerError(
                f"answered the binding {json.dumps(b)[:200]}; expected "
                '{"pod": str, "node": str, "gpu": int} and, for a MIG instance, "start": int'
            )
    return answer["bindings"]


def parse_line(line: str) -> object:
    try:
        return json.loads(line)
    except json.JSONDecodeError:
        raise SchedulerError(
            f"answered a line that is not JSON: {line[:200]!r} (debug output goes to stderr)"
        ) from None


def simulate(trace: Trace, scheduler) -> Result:
    """Run one trace against `scheduler`: an object whose ask(message) returns the answer."""
    return Simulation(trace, scheduler).run()
