"""Fixtures for the sandbox tests: the real grader image, a Docker client, a grading helper.

Every run made through ``grade`` carries a per-test marker in its environment, so the
leftover check after each test looks only at this test's containers, even when other
test sessions share the engine.
"""

from __future__ import annotations

import textwrap
import uuid
from collections.abc import Callable, Iterator

import docker
import docker.errors
import pytest

import graders
from graders.images import builder
from tests.sandboxes import containers_with_env

TEST_RUN_ENV = "DOWNSTACK_TEST_RUN"


@pytest.fixture(scope="session")
def docker_client() -> docker.DockerClient:
    return docker.from_env()


@pytest.fixture(scope="session")
def sandbox_image(docker_client: docker.DockerClient) -> str:
    """The content-tagged grader image, built offline when missing (cached otherwise)."""
    return builder.build(family="python", source="offline", client=docker_client)


def sandbox_containers(client: docker.DockerClient, marker: str) -> list[str]:
    """Ids of sandbox containers, running or not, whose environment carries ``marker``."""
    return [c["Id"] for c in containers_with_env(client, f"{TEST_RUN_ENV}={marker}")]


@pytest.fixture
def live_sandboxes(docker_client: docker.DockerClient, run_marker: str) -> Callable[[], list[str]]:
    """Ids of this test's sandbox containers that still exist, right now."""
    return lambda: sandbox_containers(docker_client, run_marker)


@pytest.fixture
def run_marker(request: pytest.FixtureRequest, docker_client: docker.DockerClient) -> Iterator[str]:
    """A marker for this test's runs; after the test, none of its containers may remain."""
    marker = uuid.uuid4().hex
    yield marker
    leftovers = sandbox_containers(docker_client, marker)
    assert not leftovers, f"{request.node.name} left sandbox containers behind: {leftovers}"


Grade = Callable[..., graders.RunResult]


@pytest.fixture
def grade(sandbox_image: str, docker_client: docker.DockerClient, run_marker: str) -> Grade:
    """Run a checker (source text) over submission files with small limits.

    The deadline is a safety net far above what these checkers need (about a second
    each), so that a loaded machine cannot turn a test's outcome into a time-out.
    """

    def _grade(
        check_source: str,
        submission: dict[str, bytes] | None = None,
        *,
        extra_checker_files: dict[str, bytes] | None = None,
        env: dict[str, str] | None = None,
        runtime: str | None = None,
        on_progress: Callable[[graders.Progress], None] | None = None,
        **limits: float,
    ) -> graders.RunResult:
        checker = {"check.py": textwrap.dedent(check_source).encode()}
        checker.update(extra_checker_files or {})
        return graders.run(
            image=sandbox_image,
            checker=checker,
            submission=submission or {},
            limits=graders.Limits(**{"timeout_s": 120.0, **limits}),  # type: ignore[arg-type]
            env={**(env or {}), TEST_RUN_ENV: run_marker},
            runtime=runtime,
            client=docker_client,
            on_progress=on_progress,
        )

    return _grade
