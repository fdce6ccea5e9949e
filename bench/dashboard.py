"""Dashboard, drill-down and gradebook CSV: SQL queries and server time per request.

Builds a synthetic cohort (cohort_synth) at three sizes on SQLite and on PostgreSQL and
prints, per page, the queries per request (which must not grow with learners or
submissions), the median and p95 server time over repeated requests, and the median as
a multiple of a baseline page's measured in the same run.

    .venv/bin/python bench/dashboard.py
    .venv/bin/python bench/dashboard.py --sizes 100 500 --repeats 30 \
        --postgres postgres://postgres@127.0.0.1:5432/downstack_bench

Each (database, size) runs in its own process so that settings come fresh from
DATABASE_URL. The benchmark database is dropped and created again.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/downstack_bench"


def fresh_database(url: str) -> None:
    if url.startswith("sqlite"):
        path = Path(url.split("sqlite:///", 1)[1])
        path.unlink(missing_ok=True)
        return
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def measure(client, url: str, repeats: int, *, cold: bool = False) -> dict:
    """Queries and server time of `repeats` requests after a warm-up; `cold` empties the
    cache before each, so that nothing computed by an earlier request is reused."""
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def get():
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        if response.streaming:
            for _ in response.streaming_content:
                pass
        return response

    get()  # warm caches (templates, connection)
    times, queries = [], set()
    for _ in range(repeats):
        if cold:
            cache.clear()
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            get()
            times.append((time.perf_counter() - started) * 1000)
        queries.add(len(captured))
    times.sort()
    return {
        "queries": sorted(queries),
        "median_ms": statistics.median(times),
        "p95_ms": times[max(0, round(0.95 * len(times)) - 1)],
    }


def run_one(learners: int, labs: int, attempts: int, repeats: int) -> dict:
    sys.path.insert(0, str(ROOT / "platform"))
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "downstack.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db.models import Count
    from django.test import Client
    from django.urls import reverse

    from cohorts.models import Membership
    from cohorts.synthetic import cohort_synth
    from grading.models import Submission

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    report = cohort_synth(learners=learners, labs=labs, attempts=attempts, seed=7)
    synth_s = time.perf_counter() - started
    cohort = report.cohort
    teacher = get_user_model().objects.create_user("bench-instructor", password="x")
    cohort.add_member(teacher, Membership.Role.INSTRUCTOR)
    busiest = (
        Submission.objects.filter(user__cohort_memberships__cohort=cohort)
        .values("user_id")
        .annotate(n=Count("pk"))
        .order_by("-n")
        .first()
    )
    client = Client()
    client.force_login(teacher)
    dashboard = reverse("cohorts:dashboard", args=[cohort.pk])
    pages = {
        # The baseline: a page of the same site that reads almost nothing.
        "cohort list": (reverse("cohorts:list"), False),
        "dashboard": (dashboard, False),
        "dashboard cold": (dashboard, True),
        "by risk, p. 2": (dashboard + "?sort=risk&page=2", False),
        "by mean": (dashboard + "?sort=mean", False),
        "search": (dashboard + "?q=00", False),
        "drill-down": (reverse("cohorts:learner", args=[cohort.pk, busiest["user_id"]]), False),
        "gradebook.csv": (reverse("cohorts:gradebook_csv", args=[cohort.pk]), False),
    }
    return {
        "learners": report.learners,
        "labs": report.labs,
        "submissions": report.submissions,
        "checks": report.tests,
        "busiest_learner_submissions": busiest["n"],
        "synth_s": synth_s,
        "pages": {
            name: measure(client, url, repeats, cold=cold) for name, (url, cold) in pages.items()
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 500, 2000])
    parser.add_argument("--labs", type=int, default=12)
    parser.add_argument("--attempts", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--sqlite", default=f"sqlite:///{ROOT / 'var' / 'bench-dashboard.sqlite3'}")
    parser.add_argument("--postgres", default=os.environ.get("BENCH_POSTGRES", DEFAULT_POSTGRES))
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child is not None:
        result = run_one(args.child, args.labs, args.attempts, args.repeats)
        print("RESULT " + json.dumps(result))
        return

    databases = [("sqlite", args.sqlite)]
    if not args.skip_postgres:
        databases.append(("postgresql", args.postgres))
    rows = []
    for db_name, url in databases:
        for size in args.sizes:
            fresh_database(url)
            env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING"}
            command = [sys.executable, __file__, "--child", str(size), "--labs", str(args.labs)]
            command += ["--attempts", str(args.attempts), "--repeats", str(args.repeats)]
            out = subprocess.run(
                command, env=env, cwd=ROOT, capture_output=True, text=True, check=False
            )
            line = next((x for x in out.stdout.splitlines() if x.startswith("RESULT ")), None)
            if line is None:
                sys.exit(f"{db_name} at {size} learners failed:\n{out.stdout}\n{out.stderr}")
            result = json.loads(line[len("RESULT ") :])
            rows.append((db_name, result))
            print(
                f"{db_name}: {result['learners']} learners x {result['labs']} labs, "
                f"{result['submissions']} submissions, {result['checks']} checks "
                f"(built in {result['synth_s']:.1f} s)",
                flush=True,
            )

    print()
    print(f"{'database':<11} {'learners':>8} {'submissions':>11}  {'page':<14}"
          f" {'queries':>7} {'median ms':>9} {'p95 ms':>8} {'x baseline':>10}")  # fmt: skip
    for db_name, result in rows:
        baseline = result["pages"]["cohort list"]["median_ms"]
        for page, m in result["pages"].items():
            queries = "/".join(str(q) for q in m["queries"])
            print(
                f"{db_name:<11} {result['learners']:>8} {result['submissions']:>11}  {page:<14}"
                f" {queries:>7} {m['median_ms']:>9.1f} {m['p95_ms']:>8.1f}"
                f" {m['median_ms'] / baseline:>10.1f}"
            )
    print()
    print("Drill-down: the learner with the most submissions in each cohort. Queries are")
    print("per request; the same number at every size means they do not grow with the cohort.")
    print("x baseline: the median over the cohort list's median in the same run. 'dashboard")
    print("cold' empties the cache first, so it recomputes activity and failing checks too.")


if __name__ == "__main__":
    main()
