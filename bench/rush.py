#!/usr/bin/env python
"""A rush: many learners submit hello-sandbox's reference through the HTTP API at once.

Starts the stack as `make demo` runs it, with scripts/demo.sh's commands, in a fresh
DOWNSTACK_VAR_DIR: SQLite and the filesystem broker there, gunicorn with 2 workers, a
Celery worker with --beat and concurrency 2. Gives each learner an account and an API
token, sends every submission at the same moment, then follows each one through the API
as the terminal client does (a poll a second). Prints how many were accepted, the HTTP
errors by status, how many were graded with which scores, and the time from the rush to
the last grade. Exits 1 unless every learner was accepted and got full marks.

    .venv/bin/python bench/rush.py [--learners 30] [--timeout 600]
"""

import argparse
import collections
import io
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "platform"), str(ROOT)]
LAB = "hello-sandbox"
# Settings that would move the stack off its embedded defaults (or, with a real
# SECRET_KEY, onto HTTPS only); a rush runs on what a fresh clone runs on.
NOT_DEMO = ("DATABASE_URL", "CELERY_BROKER_URL", "MEDIA_ROOT", "CACHE_URL", "SECRET_KEY")


@dataclass
class Learner:
    token: str
    status: int | None = None  # the submit request's HTTP status; None: no answer at all
    error: str = ""
    submit_s: float = 0.0
    submission: dict = field(default_factory=dict)


def demo_env(var_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in NOT_DEMO}
    env["DOWNSTACK_VAR_DIR"] = str(var_dir)
    env["PYTHONPATH"] = os.pathsep.join(["platform", "."])
    return env


def prepare(var_dir: Path, learners: int) -> list[Learner]:
    """demo.sh's set-up steps, in this process, then the learners and their API tokens."""
    for name in NOT_DEMO:
        os.environ.pop(name, None)
    os.environ["DOWNSTACK_VAR_DIR"] = str(var_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "downstack.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connections

    from accounts.models import ApiToken

    quiet = {"verbosity": 0, "stdout": io.StringIO()}
    call_command("migrate", interactive=False, **quiet)
    call_command("collectstatic", interactive=False, **quiet)
    call_command("labs", "sync", **quiet)
    tokens = []
    for i in range(1, learners + 1):
        user = get_user_model().objects.create_user(f"rush-{i}")
        tokens.append(Learner(token=ApiToken.issue(user=user, name="rush")[1]))
    connections.close_all()
    return tokens


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(command: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen:
    # Its own process group, so stopping it reaches its children (gunicorn's and Celery's
    # workers) and nothing else.
    with log.open("w") as out:
        return subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def start_stack(var_dir: Path, port: int) -> list[subprocess.Popen]:
    """The worker and the web server, each with scripts/demo.sh's arguments."""
    py = sys.executable
    env = demo_env(var_dir)
    worker_log = var_dir / "worker.log"
    worker = start(
        [py, "-m", "celery", "-A", "downstack", "worker", "--beat"]
        + ["--queues", "grading,regrade,default", "--concurrency", "2", "--loglevel", "INFO"]
        + ["--schedule", str(var_dir / "celerybeat-schedule")],
        worker_log,
        env,
    )
    web = start(
        [py, "-m", "gunicorn", "downstack.wsgi", "--bind", f"127.0.0.1:{port}"]
        + ["--workers", "2", "--access-logfile", "-"],
        var_dir / "web.log",
        env,
    )
    stack = [worker, web]
    deadline = time.monotonic() + 90
    while not (" ready." in worker_log.read_text() and answers(f"http://127.0.0.1:{port}/")):
        if any(p.poll() is not None for p in stack) or time.monotonic() > deadline:
            for process in stack:
                stop(process)
            raise SystemExit(f"the stack did not start; see {var_dir}/worker.log and web.log")
        time.sleep(0.25)
    return stack


def answers(base: str) -> bool:
    try:
        with urllib.request.urlopen(base + "api/v1/openapi.json", timeout=5) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def request(method: str, url: str, token: str, body: bytes | None = None, headers=None):
    """(HTTP status, decoded JSON or None); raises OSError when nothing answered."""
    req = urllib.request.Request(
        url,
        data=body,
        method=method,
        headers={"Authorization": f"Bearer {token}", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            return exc.code, json.loads(raw)
        except ValueError:
            return exc.code, {"error": f"HTTP {exc.code}, an error page (see web.log)"}


def multipart(files: dict[str, bytes]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{name}"\r\n'
        f"Content-Type: application/octet-stream\r\n\r\n".encode()
        + data
        + b"\r\n"
        for name, data in files.items()
    ]
    return b"".join(
        parts
    ) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def learn(learner: Learner, base: str, files: dict[str, bytes], gate, until: float) -> None:
    """One learner: wait at the gate with the others, submit, then poll until graded."""
    body, content_type = multipart(files)
    gate.wait()
    sent = time.monotonic()
    try:
        learner.status, answer = request(
            "POST",
            f"{base}api/v1/labs/{LAB}/submissions/",
            learner.token,
            body,
            {"Content-Type": content_type},
        )
    except OSError as exc:
        learner.error = f"no answer: {exc}"
        return
    learner.submit_s = time.monotonic() - sent
    if learner.status != 201:
        learner.error = (answer or {}).get("error", "")
        return
    while answer["status"] in ("queued", "running") and time.monotonic() < until:
        time.sleep(1)
        try:
            status, polled = request(
                "GET", f"{base}api/v1/submissions/{answer['id']}/", learner.token
            )
        except OSError:
            continue  # a learner's client tries again at its next poll
        if status == 200:
            answer = polled
    learner.submission = answer


def rush(learners: list[Learner], base: str, files: dict[str, bytes], timeout: float) -> float:
    """Release every learner at once; returns the moment of release (epoch seconds)."""
    released = []
    gate = threading.Barrier(len(learners), action=lambda: released.append(time.time()))
    until = time.monotonic() + timeout
    threads = [
        threading.Thread(target=learn, args=(learner, base, files, gate, until), daemon=True)
        for learner in learners
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return released[0]


def counts(counter: collections.Counter) -> str:
    return ", ".join(f"{key}: {n}" for key, n in sorted(counter.items(), key=str)) or "none"


def report(learners: list[Learner], released: float) -> bool:
    """Print the outcome; True when every learner was accepted and got full marks."""
    accepted = [learner for learner in learners if learner.status == 201]
    errors = collections.Counter(learner.status or "no answer" for learner in learners)
    errors.pop(201, None)
    outcomes = [learner.submission for learner in accepted]
    graded = [s for s in outcomes if s.get("status") == "graded"]
    scores = collections.Counter(f"{s['score']:g}/{s['max_score']:g}" for s in graded)
    unfinished = collections.Counter(
        s.get("status", "lost") for s in outcomes if s.get("status") != "graded"
    )
    print(f"accepted       {len(accepted)}/{len(learners)}")
    print(f"HTTP errors    {counts(errors)}")
    for message in sorted({learner.error for learner in learners if learner.error}):
        print(f"               {message}")
    if accepted:
        submit_s = [learner.submit_s for learner in accepted]
        median, slowest = statistics.median(submit_s), max(submit_s)
        print(f"submit answer  median {median:.2f} s, slowest {slowest:.2f} s")
    print(f"graded         {len(graded)}/{len(learners)}, scores {counts(scores)}")
    if unfinished:
        print(f"not graded     {counts(unfinished)}")
    if graded:
        waits = [datetime.fromisoformat(s["finished_at"]).timestamp() - released for s in graded]
        print(f"graded after   median {statistics.median(waits):.1f} s, last {max(waits):.1f} s")
    full_marks = all(s["score"] == s["max_score"] for s in graded)
    return len(graded) == len(learners) and full_marks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--learners", type=int, default=30, help="learners who submit at once (default 30)"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=600,
        help="seconds to wait for the last grade after the rush (default 600)",
    )
    args = parser.parse_args()
    if args.learners < 1:
        parser.error("--learners must be at least 1")

    # A plain `kill` (or timeout(1)) still stops the stack on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    var_dir = Path(tempfile.mkdtemp(prefix="downstack-rush-"))
    learners = prepare(var_dir, args.learners)
    from django.conf import settings

    from catalog.labfiles import read_tree

    files = read_tree(settings.LABS_DIR / LAB / "solution")
    port = free_port()
    print(
        f"{args.learners} learners, {LAB} reference, the demo stack on http://127.0.0.1:{port}/ "
        f"(database {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}, broker "
        f"{settings.CELERY_BROKER_URL}, var {var_dir})",
        flush=True,
    )
    stack = start_stack(var_dir, port)
    try:
        released = rush(learners, f"http://127.0.0.1:{port}/", files, args.timeout)
    finally:
        for process in reversed(stack):
            stop(process)
    if report(learners, released):
        shutil.rmtree(var_dir, ignore_errors=True)
        return
    print(f"not every learner got full marks; logs in {var_dir} (worker.log, web.log)")
    sys.exit(1)


if __name__ == "__main__":
    main()
