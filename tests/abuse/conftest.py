"""Fixtures of the abuse suite: one graded batch of attacks per container runtime."""

import docker
import pytest
from django.core.management import call_command
from django.test import override_settings

from tests.abuse.batch import RUNTIMES, prepare_host, run_batch


@pytest.fixture(scope="module")
def docker_engine() -> docker.DockerClient:
    return docker.from_env()


@pytest.fixture(scope="module", params=RUNTIMES)
def batch(
    request, django_db_setup, django_db_blocker, tmp_path_factory, grader_image, docker_engine
):
    """Every case graded through the pipeline under one runtime (see tests/abuse/batch.py).

    The worker is another process, so everything is committed; the database is flushed
    when the module is done, as ``transactional_db`` does after each test.
    """
    runtime = request.param
    if runtime not in (docker_engine.info().get("Runtimes") or {}):
        pytest.skip(
            f"the {runtime} runtime is not registered with Docker: run scripts/host-setup.sh"
        )
    root = tmp_path_factory.mktemp(f"abuse-{runtime}")
    labs = root / "labs"
    labs.mkdir()
    host = prepare_host(root)
    try:
        with override_settings(LABS_DIR=labs, MEDIA_ROOT=str(root / "media")):
            try:
                with django_db_blocker.unblock():
                    graded = run_batch(runtime=runtime, root=root, labs=labs, host=host)
                yield graded
            finally:
                with django_db_blocker.unblock():
                    call_command("flush", interactive=False, verbosity=0)
    finally:
        host.tcp_listener.close()
        host.udp_listener.close()
