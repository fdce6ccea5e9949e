"""What the fault tests share: a slow lab's checker, a Redis they may crash, a look at
the Docker engine's sandbox containers, and a reaper's "later"."""

import signal
import socket
import subprocess
import time
from datetime import timedelta

import docker
import redis
from django.conf import settings
from django.utils import timezone

from tests.sandboxes import containers_with_env

NAPPING_CHECKER = """
    import time

    from downstack_harness import Grader

    time.sleep({seconds})
    g = Grader()
    g.check("wakes up", True)
    g.check("answers", True, score=2, max_score=2)
    g.check("hidden check", True, visibility="hidden")
    g.emit()
"""
NAPPING_CHECKS = 3
NAPPING_SCORE = 4


def past_every_deadline():
    """A reaper's `now` after every hard time limit and requeue delay has run out."""
    longest = max(settings.GRADING_HARD_TIME_LIMIT_S, settings.GRADING_REQUEUE_AFTER_S)
    return timezone.now() + timedelta(seconds=longest + 1)


def sandbox_containers(submission_id) -> list[dict]:
    """The sandbox containers on this engine that are grading the given submission."""
    return containers_with_env(docker.from_env(), f"DOWNSTACK_SUBMISSION_ID={submission_id}")


class RedisServer:
    """A redis-server that keeps nothing on disk, on a free port, which a test may crash."""

    def __init__(self, workdir):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.workdir = workdir
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.client = redis.Redis(port=self.port)
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
            + ["--save", "", "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                self.client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def crash(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait()
