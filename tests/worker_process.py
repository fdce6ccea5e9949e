"""A real Celery worker process on the configured broker and the test database, for tests."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.db import connection

from grading.models import Submission

ROOT = Path(__file__).resolve().parents[1]


def database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    user = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    host = db["HOST"] or "localhost"
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{user}@{host}{port}/{db['NAME']}"


class Worker:
    def __init__(
        self,
        log_path: Path,
        extra_env: dict[str, str],
        concurrency: int = 1,
        queues: str = "grading",
        beat: bool = False,
    ):
        env = dict(os.environ)
        env.update(
            {
                "DATABASE_URL": database_url(),
                "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
                "LABS_DIR": str(settings.LABS_DIR),
                "MEDIA_ROOT": str(settings.MEDIA_ROOT),
                "GRADING_RETRY_BACKOFF_S": "1",
                "PYTHONPATH": os.pathsep.join(["platform", "."]),
            }
        )
        env.update(extra_env)
        self.log_path = log_path
        self.log = log_path.open("w")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "downstack",
                "worker",
                "--queues",
                queues,
                "--concurrency",
                str(concurrency),
                "--loglevel",
                "INFO",
                "--without-mingle",
                "--without-gossip",
                "--hostname",
                f"test-{os.getpid()}-{time.monotonic_ns()}@%h",
                # The periodic reaper inside the worker, as `make demo` runs it.
                *(["--beat", "--schedule", str(log_path.with_suffix(".beat"))] if beat else []),
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            # Its own process group, so kill() reaches the pool's children and nothing else.
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while "ready." not in log_path.read_text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the Celery worker did not start:\n" + log_path.read_text())
            time.sleep(0.2)

    def output(self) -> str:
        return self.log_path.read_text()

    def kill(self) -> None:
        """SIGKILL the worker and its pool at once, as a crash or the OOM killer would."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.log.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def wait_for(predicate, timeout=90, interval=0.25):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"gave up after {timeout} s waiting for {predicate.__doc__ or predicate}")


def finished(submission_id):
    """For wait_for: the submission once it is graded or failed, else None."""

    def check():
        """the submission to finish"""
        row = Submission.objects.get(pk=submission_id)
        return row if row.is_finished() else None

    return check
