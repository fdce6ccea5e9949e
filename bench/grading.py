#!/usr/bin/env python
"""Grading latency and throughput through the real pipeline, against a bare `docker run`.

Submits the hello-sandbox reference N times (the HTTP API, the configured database and
broker, a real Celery worker process, the sandbox) and measures submit-to-graded latency
one at a time, then throughput with N submitted at once. In the same run it times a bare
`docker run` of the same image and checker over the same files, the least any grading
could cost on this machine, and prints the ratios. Machines here are noisy: compare
ratios, not seconds.

Then, for the flagship labs, it submits each one's reference and polls the API: the
time from submit to the first check readable there, next to the time to the final
score, and their ratio (checks are shown as the checker makes them; the target is a
first check in under 30% of the time to the score).

Each submission comes from a learner of its own, made for this run, so neither the lab's
attempts per hour nor an earlier run on the same database (DATABASE_URL) can refuse one.

    .venv/bin/python bench/grading.py [-n 10] [--concurrency 2] [--first-check-n 3]
"""

import argparse
import itertools
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "platform"), str(ROOT)]


def setup_django(var_dir: str) -> None:
    os.environ["DOWNSTACK_VAR_DIR"] = var_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "downstack.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


class Learners:
    """Submits as a new learner each time, through the JSON API, in this process.

    Going through the API keeps the bench to the platform's public doorway; a learner
    per submission keeps the lab's attempts per hour out of the measurement.
    """

    def __init__(self, lab_slug: str, files: dict[str, bytes]):
        from django.test import Client

        self.client = Client()
        self.url = f"/api/v1/labs/{lab_slug}/submissions/"
        self.files = files
        self.run = uuid.uuid4().hex[:8]
        self.count = itertools.count(1)

    def api_key(self) -> str:
        from django.contrib.auth import get_user_model

        from accounts.models import ApiToken

        user = get_user_model().objects.create_user(f"bench-{self.run}-{next(self.count)}")
        return ApiToken.issue(user=user, name="bench")[1]

    def submit(self) -> tuple[uuid.UUID, float]:
        """Submit the files as a new learner; returns the submission's id and when the
        request was sent (time.monotonic), where its latency starts."""
        from django.core.files.uploadedfile import SimpleUploadedFile

        key = self.api_key()
        self.key = key
        uploads = {name: SimpleUploadedFile(name, data) for name, data in self.files.items()}
        sent = time.monotonic()
        response = self.client.post(
            self.url, uploads, headers={"authorization": f"Bearer {key}"}, secure=True
        )
        if response.status_code != 201:
            raise SystemExit(f"submitting failed: HTTP {response.status_code} {response.content!r}")
        return uuid.UUID(response.json()["id"]), sent


# The labs of the first-check measurement: the flagship labs.
FLAGSHIP_LABS = ("gc-p99-spike", "partition-writes", "ai-patch-review")


def first_check_and_score(learners: Learners, timeout_s: float) -> tuple[float, float]:
    """Submit once and poll the API: seconds from submit to the first check readable
    there (shown or counted as hidden), and to the final score."""
    pk, sent = learners.submit()
    url = f"/api/v1/submissions/{pk}/"
    headers = {"authorization": f"Bearer {learners.key}"}
    first = None
    while time.monotonic() - sent < timeout_s:
        body = learners.client.get(url, headers=headers, secure=True).json()
        if first is None and (body["tests"] or any(body["hidden_tests"].values())):
            first = time.monotonic() - sent
        if body["status"] in ("graded", "error"):
            if body["status"] == "error":
                raise SystemExit(f"submission {pk} was not graded: {body['status_detail']}")
            return (
                first if first is not None else time.monotonic() - sent
            ), time.monotonic() - sent
        time.sleep(0.05)
    raise SystemExit(f"gave up waiting for submission {pk}")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))]


def summary(name: str, latencies: list[float], throughput: float) -> str:
    return (
        f"{name:<22} median {statistics.median(latencies):6.2f} s   "
        f"p95 {percentile(latencies, 95):6.2f} s   throughput {throughput * 60:6.1f}/min"
    )


def bare_docker_run(image: str, command: list[str], archive: bytes, limits) -> float:
    """One `docker run` with the sandbox's limits and the same stdin tar; returns seconds."""
    from graders.sandbox import CAPABILITIES, SCRATCH_DIRS

    size = f"size={limits.tmpfs_mb}m"
    args = [
        "docker",
        "run",
        "--rm",
        "-i",
        "--network",
        "none",
        "--read-only",
        "--memory",
        f"{limits.memory_mb}m",
        "--memory-swap",
        f"{limits.memory_mb}m",
        "--cpus",
        str(limits.cpus),
        "--pids-limit",
        str(limits.pids),
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges",
        "--user",
        "0",
        "--log-driver",
        "none",
        "-e",
        f"DOWNSTACK_INPUT_BYTES={limits.tmpfs_mb << 20}",
        "-e",
        f"DOWNSTACK_RESULT_BYTES={limits.result_bytes}",
    ]
    for cap in CAPABILITIES:
        args += ["--cap-add", cap]
    for path, mode in SCRATCH_DIRS.items():
        args += ["--tmpfs", f"{path}:{size},mode={mode}"]
    started = time.monotonic()
    done = subprocess.run([*args, image, *command], input=archive, capture_output=True)
    elapsed = time.monotonic() - started
    if done.returncode != 0 or bare_score(done.stdout) != 10:
        raise SystemExit(
            f"bare docker run did not grade the reference 10/10:\n{done.stdout.decode()[:2000]}"
            f"\n{done.stderr.decode()[-2000:]}"
        )
    return elapsed


def bare_score(stdout: bytes) -> float | None:
    """The score in a bare run's envelope, or None when the checker gave no results (a
    baseline that times a crashing checker measures nothing)."""
    from graders.sandbox import envelope_of

    envelope, _ = envelope_of(stdout)
    if envelope is None or envelope.get("checker_exit") != 0:
        return None
    try:
        return json.loads(envelope["results"])["score"]
    except (ValueError, KeyError, TypeError):
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=10, help="submissions per measurement (default 10)")
    parser.add_argument(
        "--first-check-n",
        type=int,
        default=3,
        help="submissions per flagship lab for the time to the first check (default 3; 0 skips)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=2,
        help="worker processes, and parallel bare runs (default 2)",
    )
    args = parser.parse_args()

    # A plain `kill` (or timeout(1)) still stops the worker on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    var_dir = tempfile.mkdtemp(prefix="downstack-bench-")
    setup_django(var_dir)
    from django.conf import settings

    from catalog.labfiles import load_lab, read_tree
    from catalog.sandbox import sandbox_options
    from catalog.sync import labs_sync
    from graders.sandbox import _archive
    from grading.models import Submission
    from tests.worker_process import Worker

    labs_sync(root=settings.LABS_DIR)
    files = read_tree(settings.LABS_DIR / "hello-sandbox" / "solution")
    learners = Learners("hello-sandbox", files)
    spec = load_lab(settings.LABS_DIR / "hello-sandbox")
    options = sandbox_options(spec)
    # The checker's files as the sandbox gets them: grader/ and what lab.toml includes.
    archive = _archive(spec.checker_files(), files)

    print(
        f"broker {settings.CELERY_BROKER_URL.split('@')[-1]}, "
        f"database {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}, "
        f"image {options['image']}, n={args.n}, concurrency={args.concurrency}"
    )
    worker = Worker(Path(var_dir) / "worker.log", {"DOWNSTACK_VAR_DIR": var_dir}, args.concurrency)

    def grade_many(count: int) -> list[float]:
        created = {}
        for _ in range(count):
            pk, sent = learners.submit()
            created[pk] = sent
        done: dict = {}
        deadline = time.monotonic() + 60 + 30 * count
        while len(done) < count:
            if time.monotonic() > deadline:
                raise SystemExit("gave up waiting for grading; see " + str(worker.log_path))
            finished = Submission.objects.filter(
                pk__in=[pk for pk in created if pk not in done], status__in=("graded", "error")
            ).values_list("pk", "status", "score")
            for pk, status, score in finished:
                if status != "graded" or score != 10:
                    raise SystemExit(f"submission {pk} ended {status} with {score}")
                done[pk] = time.monotonic() - created[pk]
            time.sleep(0.02)
        return list(done.values())

    try:
        grade_many(1)  # warm up: the worker's first task imports and connects
        bare_docker_run(options["image"], list(options["command"]), archive, options["limits"])

        pipeline_latency = [grade_many(1)[0] for _ in range(args.n)]
        bare_latency = [
            bare_docker_run(options["image"], list(options["command"]), archive, options["limits"])
            for _ in range(args.n)
        ]
        started = time.monotonic()
        grade_many(args.n)
        pipeline_throughput = args.n / (time.monotonic() - started)
        started = time.monotonic()
        with ThreadPoolExecutor(args.concurrency) as pool:
            list(
                pool.map(
                    lambda _: bare_docker_run(
                        options["image"], list(options["command"]), archive, options["limits"]
                    ),
                    range(args.n),
                )
            )
        bare_throughput = args.n / (time.monotonic() - started)

        first_checks = {}
        for slug in FLAGSHIP_LABS if args.first_check_n else ():
            lab = load_lab(settings.LABS_DIR / slug)
            flagship = Learners(slug, read_tree(settings.LABS_DIR / slug / "solution"))
            timeout = 60 + 3 * lab.timeout_s
            first_checks[slug] = [
                first_check_and_score(flagship, timeout) for _ in range(args.first_check_n)
            ]
    finally:
        worker.stop()

    print(summary("pipeline", pipeline_latency, pipeline_throughput))
    print(summary("bare docker run", bare_latency, bare_throughput))
    median_ratio = statistics.median(pipeline_latency) / statistics.median(bare_latency)
    p95_ratio = percentile(pipeline_latency, 95) / percentile(bare_latency, 95)
    print(
        f"ratio pipeline/bare:    median {median_ratio:.2f}x   p95 {p95_ratio:.2f}x"
        f"   throughput {pipeline_throughput / bare_throughput:.2f}x"
    )
    for slug, times in first_checks.items():
        first = statistics.median(t[0] for t in times)
        final = statistics.median(t[1] for t in times)
        print(
            f"{slug:<22} first check visible {first:6.2f} s   final score {final:6.2f} s   "
            f"ratio first/final {first / final:.2f}   (median of {len(times)})"
        )


if __name__ == "__main__":
    main()
