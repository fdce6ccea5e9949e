"""Building a Gradescope autograder's image for real: setup.sh installs gradescope-utils
from PyPI through the host's network, the image runs without a network, a second build
reuses it, and a failing or overlong setup.sh leaves neither an image nor a container."""

import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import docker
import docker.errors
import pytest

from catalog.gradescope import extract_autograder
from graders.images import gradescope
from graders.images.gradescope import AutograderBuildError, build_autograder_image

BUILD_TIMEOUT_S = 900


def autograder(tmp_path: Path, setup_sh: str, run_autograder: str = "#!/bin/bash\n") -> Path:
    """An autograder folder unpacked from a zip, as an instructor would upload it."""
    archive = tmp_path / "autograder.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name, text in (("setup.sh", setup_sh), ("run_autograder", run_autograder)):
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o100644 << 16  # as zipped on a machine without exec bits
            zf.writestr(info, text)
    folder = tmp_path / "autograder"
    extract_autograder(archive, folder)
    return folder


def build_containers(client: docker.DockerClient, tag: str) -> list[str]:
    """Build containers for ``tag`` that still exist, running or not."""
    found = client.containers.list(all=True, filters={"label": f"{gradescope.LABEL}={tag}"})
    return [c.id for c in found]


def image_exists(client: docker.DockerClient, tag: str) -> bool:
    try:
        client.images.get(tag)
    except docker.errors.ImageNotFound:
        return False
    return True


def test_the_tag_changes_with_any_name_mode_or_byte_of_the_source(tmp_path: Path) -> None:
    source = autograder(tmp_path, "echo one\n")
    base = "downstack/debian-bookworm-python:0123456789ab"
    tags = {gradescope.autograder_tag(source, base)}
    (source / "setup.sh").write_text("echo two\n")
    tags.add(gradescope.autograder_tag(source, base))
    (source / "setup.sh").chmod(0o755)
    tags.add(gradescope.autograder_tag(source, base))
    (source / "setup.sh").rename(source / "data.txt")
    (source / "setup.sh").write_text("echo two\n")
    tags.add(gradescope.autograder_tag(source, base))

    assert len(tags) == 4
    assert all(tag.endswith(":0123456789ab") for tag in tags)
    assert gradescope.autograder_tag(source, base) in tags  # the same content, the same tag


@pytest.fixture(scope="module")
def base(docker_client: docker.DockerClient) -> str:
    return gradescope.ensure_gradescope_base(docker_client)


@pytest.fixture
def remove_image(docker_client: docker.DockerClient) -> Iterator[list[str]]:
    """Tags appended here are removed after the test, so each run builds afresh."""
    tags: list[str] = []
    yield tags
    for tag in tags:
        try:
            docker_client.images.remove(tag)
        except docker.errors.ImageNotFound:
            pass


@pytest.mark.docker
def test_an_autograder_is_built_as_gradescope_builds_and_then_reused(
    tmp_path: Path, docker_client: docker.DockerClient, base: str, remove_image: list[str]
) -> None:
    # The run's id makes the content, hence the tag, new each run. Both scripts have
    # Windows line endings: bash would fail on them unless dos2unix ran.
    ran = f"setup-ran-{uuid.uuid4().hex}"
    setup_sh = (
        f"set -e\necho {ran}\npip3 install gradescope-utils\n"
        "echo $(id -u) $(pwd) > /opt/setup-marker\n"
    )
    run_autograder = "#!/bin/bash\necho run-autograder-ok\n"
    source = autograder(
        tmp_path, setup_sh.replace("\n", "\r\n"), run_autograder.replace("\n", "\r\n")
    )
    first_log: list[str] = []

    tag = build_autograder_image(
        source, client=docker_client, timeout_s=BUILD_TIMEOUT_S, on_log=first_log.append
    )
    remove_image.append(tag)

    assert tag == gradescope.autograder_tag(source, base)
    assert tag.startswith(gradescope.REPOSITORY_PREFIX)
    assert ran in first_log
    assert any("Successfully installed" in line and "gradescope" in line for line in first_log)
    # What the build left in /autograder is kept where a run's fresh /autograder cannot
    # hide it; the entry program copies it back (tests/gradescope_labs run it for real).
    kept = gradescope.SNAPSHOT_DIR
    checks = (
        "python3 -c 'import gradescope_utils' && "
        f"test -x {kept}/run_autograder && test -f {kept}/source/setup.sh && "
        f"! grep -q $'\\r' {kept}/run_autograder && "
        "cat /opt/setup-marker && pwd && echo $PIP_BREAK_SYSTEM_PACKAGES $LANG && "
        f"{kept}/run_autograder"
    )
    output = docker_client.containers.run(
        tag, [checks], entrypoint=["bash", "-c"], network_mode="none", remove=True
    ).decode()
    assert output.splitlines() == [
        "0 /autograder/source",  # setup.sh ran as root, in the source folder
        "/autograder",
        "1 C.UTF-8",
        "run-autograder-ok",
    ]

    second_log: list[str] = []
    again = build_autograder_image(
        source, client=docker_client, timeout_s=BUILD_TIMEOUT_S, on_log=second_log.append
    )

    assert again == tag
    assert ran not in second_log
    assert second_log == [f"image {tag} is already built from this autograder; reusing it"]
    assert not build_containers(docker_client, tag)


@pytest.mark.docker
def test_a_failing_setup_sh_names_its_status_and_output_and_saves_nothing(
    tmp_path: Path, docker_client: docker.DockerClient, base: str
) -> None:
    source = autograder(tmp_path, "echo boom >&2; exit 3\n")
    tag = gradescope.autograder_tag(source, base)

    with pytest.raises(AutograderBuildError) as caught:
        build_autograder_image(source, client=docker_client, timeout_s=BUILD_TIMEOUT_S)

    message = str(caught.value)
    assert "setup.sh failed with exit status 3" in message
    assert "boom" in message.splitlines()[-1]
    assert not image_exists(docker_client, tag)
    assert not build_containers(docker_client, tag)


@pytest.mark.docker
def test_a_setup_sh_past_the_time_cap_is_stopped_and_saves_nothing(
    tmp_path: Path, docker_client: docker.DockerClient, base: str
) -> None:
    source = autograder(tmp_path, "echo sleeping\nsleep 3600\n")
    tag = gradescope.autograder_tag(source, base)

    with pytest.raises(AutograderBuildError) as caught:
        build_autograder_image(source, client=docker_client, timeout_s=30)

    assert "ran past its time cap of 30 s" in str(caught.value)
    assert not image_exists(docker_client, tag)
    assert not build_containers(docker_client, tag)
