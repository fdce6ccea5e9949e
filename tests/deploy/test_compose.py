"""The compose deployment, end to end, with the operator's own commands (deploy/README.md):
build the images from this checkout with no registry, start the stack, load the labs,
create a user, submit hello-sandbox's reference through the API, scrape /metrics; then
back up, wipe and restore the database and the submission files."""

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

pytestmark = [pytest.mark.deploy, pytest.mark.docker]

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "deploy" / "docker-compose.yml"
REFERENCE = ROOT / "labs" / "hello-sandbox" / "solution" / "logparse.py"


class Stack:
    """One compose project of the deployment, driven through docker-compose."""

    def __init__(self, env_file: Path, project: str, port: int):
        self.env_file = env_file
        self.project = project
        # Not 127.0.0.1, which ALLOWED_HOSTS leaves out as a real site's would.
        self.url = f"http://localhost:{port}"
        self.settings = dict(
            line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line
        )

    def compose(self, *args: str, stdin: bytes | None = None, check=True, timeout=600):
        command = [
            "docker-compose",
            "--env-file",
            str(self.env_file),
            "--project-name",
            self.project,
            "--file",
            str(COMPOSE_FILE),
            *args,
        ]
        env = dict(os.environ, DOWNSTACK_ENV_FILE=str(self.env_file))
        completed = subprocess.run(
            command, input=stdin, capture_output=True, env=env, timeout=timeout, check=False
        )
        if check and completed.returncode != 0:
            raise AssertionError(
                f"{' '.join(args)} failed ({completed.returncode}):\n"
                + completed.stderr.decode(errors="replace")[-3000:]
            )
        return completed

    def manage(self, *args: str) -> str:
        return self.compose("exec", "-T", "web", "downstack", "manage", *args).stdout.decode()

    def wait_until_serving(self, timeout=300):
        """Until the web service answers /healthz and /readyz (a worker's heartbeat too)."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            try:
                answer = requests.get(f"{self.url}/readyz", timeout=5)
                if answer.status_code == 200:
                    return
                last = answer.text
            except requests.RequestException as exc:
                last = str(exc)
            time.sleep(1)
        raise AssertionError(f"the stack did not get ready in {timeout} s: {last}\n{self.logs()}")

    def logs(self) -> str:
        return self.compose("logs", "--no-color", "--tail=40", check=False).stdout.decode()[-6000:]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    if shutil.which("docker-compose") is None:
        pytest.fail("docker-compose is missing: run `make host` (scripts/host-setup.sh)")
    built = subprocess.run(
        [sys.executable, str(ROOT / "deploy" / "build.py")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    port = free_port()
    env_file = tmp_path_factory.mktemp("compose") / "env"
    # env.example with its secrets made and the site on a free loopback port over plain
    # HTTP (no TLS proxy in a test).
    values = {
        "SECRET_KEY": secrets.token_hex(32),
        "POSTGRES_PASSWORD": secrets.token_hex(16),
        "REDIS_PASSWORD": secrets.token_hex(16),
        "METRICS_TOKEN": secrets.token_hex(16),
        "ALLOWED_HOSTS": "localhost,web",
        "DOWNSTACK_PORT": str(port),
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_COOKIES": "false",
        "SECURE_PROXY_SSL_HEADER": "",
        "WORKER_CONCURRENCY": "1",
        "WEB_CONCURRENCY": "2",
    }
    lines = []
    for line in (ROOT / "deploy" / "env.example").read_text().splitlines():
        key = line.split("=", 1)[0]
        if "=" in line and not line.startswith("#") and key in values:
            line = f"{key}={values.pop(key)}"
        lines.append(line)
    lines += [f"{key}={value}" for key, value in values.items()]
    env_file.write_text("\n".join(lines) + "\n")
    stack = Stack(env_file, f"downstack-test-{os.getpid()}", port)
    try:
        stack.compose("up", "-d")
        stack.wait_until_serving()
        yield stack
    finally:
        stack.compose("down", "--volumes", "--remove-orphans", check=False)


@pytest.fixture(scope="module")
def graded(stack):
    """The operator loads the labs and creates the first staff user; a learner with an API
    token submits the reference, which is graded. Returns (token, submission id)."""
    assert "hello-sandbox" in stack.manage("labs", "sync")
    stack.compose(
        "exec",
        "-T",
        "-e",
        "DJANGO_SUPERUSER_PASSWORD=" + secrets.token_hex(12),
        "web",
        "downstack",
        "manage",
        "createsuperuser",
        "--noinput",
        "--username",
        "ops",
        "--email",
        "ops@example.org",
    )
    token = stack.manage(
        "shell",
        "-c",
        "from django.contrib.auth import get_user_model;"
        "from accounts.models import ApiToken;"
        "user = get_user_model().objects.create_user('ada', password='ada-long-password');"
        "print(ApiToken.issue(user=user, name='test')[1])",
    ).splitlines()[-1]  # after the shell's own notice of what it imported
    headers = {"Authorization": f"Bearer {token}"}
    created = requests.post(
        f"{stack.url}/api/v1/labs/hello-sandbox/submissions/",
        headers=headers,
        files={"logparse.py": REFERENCE.read_bytes()},
        timeout=30,
    )
    assert created.status_code == 201, created.text
    submission_id = created.json()["id"]
    deadline = time.monotonic() + 300
    while True:
        row = requests.get(
            f"{stack.url}/api/v1/submissions/{submission_id}/", headers=headers, timeout=30
        ).json()
        if row["status"] in ("graded", "error") or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert row["status"] == "graded", f"{row}\n{stack.logs()}"
    return token, submission_id


def samples(stack, name: str) -> dict[tuple, float]:
    answer = requests.get(
        f"{stack.url}/metrics",
        headers={"Authorization": f"Bearer {stack.settings['METRICS_TOKEN']}"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
        if sample.name.startswith(name)
    }


def test_the_stack_grades_the_reference_with_full_marks_and_counts_it(stack, graded):
    token, submission_id = graded
    row = requests.get(
        f"{stack.url}/api/v1/submissions/{submission_id}/",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    ).json()
    assert row["score"] == row["max_score"] > 0
    assert row["run"]["image"].startswith("downstack/grader-python:")

    lab = (("lab", "hello-sandbox"),)
    assert (
        samples(stack, "downstack_submissions")[
            ("downstack_submissions", (("lab", "hello-sandbox"), ("status", "graded")))
        ]
        == 1
    )
    assert (
        samples(stack, "downstack_sandbox_seconds")[("downstack_sandbox_seconds_count", lab)] == 1
    )
    heartbeats = samples(stack, "downstack_worker_engine_up")
    assert heartbeats and all(value == 1 for value in heartbeats.values()), heartbeats

    # /metrics is closed without the token; the web service never has the Docker socket.
    assert requests.get(f"{stack.url}/metrics", timeout=30).status_code == 401
    socket_test = ("exec", "-T", "web", "test", "-e", "/var/run/docker.sock")
    assert stack.compose(*socket_test, check=False).returncode == 1


def test_backup_then_restore_onto_wiped_volumes_keeps_the_submission(stack, graded, tmp_path):
    token, submission_id = graded
    dump = stack.compose("exec", "-T", "postgres", "pg_dump", "--format=custom").stdout
    media = stack.compose(
        "exec", "-T", "web", "tar", "-C", "/var/lib/downstack", "-czf", "-", "media"
    ).stdout
    assert dump and media

    stack.compose("down", "--volumes")
    stack.compose("up", "-d", "postgres", "redis")
    deadline = time.monotonic() + 120
    while stack.compose("exec", "-T", "postgres", "pg_isready", check=False).returncode:
        assert time.monotonic() < deadline, stack.logs()
        time.sleep(1)
    stack.compose(
        "exec", "-T", "postgres", "pg_restore", "--dbname=downstack", "--no-owner", stdin=dump
    )
    stack.compose(
        "run",
        "--rm",
        "--no-deps",
        "-T",
        "--entrypoint",
        "tar",
        "web",
        "-C",
        "/var/lib/downstack",
        "-xzf",
        "-",
        stdin=media,
    )
    stack.compose("up", "-d")
    stack.wait_until_serving()

    headers = {"Authorization": f"Bearer {token}"}
    row = requests.get(
        f"{stack.url}/api/v1/submissions/{submission_id}/", headers=headers, timeout=30
    ).json()
    assert row["status"] == "graded" and row["score"] == row["max_score"] > 0
    restored = stack.compose(
        "exec",
        "-T",
        "web",
        "cat",
        f"/var/lib/downstack/media/submissions/{submission_id}/logparse.py",
    ).stdout
    assert restored == REFERENCE.read_bytes()
