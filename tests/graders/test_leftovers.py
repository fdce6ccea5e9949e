"""Removing what an abandoned run left behind: run() cleans up in `finally`, which a
killed worker never reaches, so the next attempt at the same work, or a later sweep,
must find the container by its labels."""

from __future__ import annotations

import time
import uuid

import docker
import docker.errors
import pytest

import graders
from graders.sandbox import LABEL, RUN_LABEL

pytestmark = pytest.mark.docker


@pytest.fixture
def abandoned(docker_client: docker.DockerClient, sandbox_image: str):
    """Factory: a running sandbox-labelled container, as a killed worker leaves it."""
    made = []

    def make(run_key: str | None, *, sandbox: bool = True) -> str:
        labels = {RUN_LABEL: run_key} if run_key else {}
        if sandbox:
            labels[LABEL] = "1"
        container = docker_client.containers.run(
            sandbox_image,
            ["sleep", "300"],
            entrypoint=[],
            detach=True,
            labels=labels,
            network_mode="none",
        )
        made.append(container.id)
        return container.id

    yield make
    for container_id in made:
        try:
            docker_client.api.remove_container(container_id, force=True)
        except docker.errors.NotFound:
            pass


def exists(client: docker.DockerClient, container_id: str) -> bool:
    try:
        client.api.inspect_container(container_id)
        return True
    except docker.errors.NotFound:
        return False


def test_a_new_attempt_removes_the_container_of_its_own_key_only(docker_client, abandoned):
    key = f"submission-{uuid.uuid4()}"
    mine, other = abandoned(key), abandoned(f"submission-{uuid.uuid4()}")

    assert graders.remove_leftovers(run_key=key) == 1

    assert not exists(docker_client, mine)
    assert exists(docker_client, other)


def test_the_sweep_removes_sandboxes_past_the_age_and_nothing_else(
    docker_client, abandoned, monkeypatch
):
    old = abandoned("graderun-1")
    not_a_sandbox = abandoned(None, sandbox=False)
    time.sleep(1.1)  # the engine records creation times in whole seconds
    young = abandoned("graderun-2")
    young_created = docker_client.api.containers(all=True, filters={"id": young})[0]["Created"]
    # The sweep's clock is held half a second past the young one's birth, so the verdict
    # does not depend on how long a busy machine took to get here.
    with monkeypatch.context() as clock:
        clock.setattr(graders.sandbox.time, "time", lambda: young_created + 0.5)
        removed = graders.remove_leftovers(older_than_s=1)

    assert removed >= 1  # other test sessions' stale sandboxes may go too
    assert not exists(docker_client, old)
    assert exists(docker_client, young)
    assert exists(docker_client, not_a_sandbox)
