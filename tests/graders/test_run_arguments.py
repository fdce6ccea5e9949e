"""Arguments run() refuses before it touches Docker: these are the caller's mistakes."""

import docker
import pytest

import graders

# Never contacted: each call must fail before the first request.
UNREACHABLE = docker.DockerClient(base_url="unix:///nonexistent/docker.sock", version="1.41")


@pytest.mark.parametrize("name", ["../escape.py", "/etc/passwd", "a/../../b", "", "a\\b"])
def test_file_names_outside_their_directory_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="relative path"):
        graders.run(image="any", checker={}, submission={name: b""}, client=UNREACHABLE)


def test_files_larger_than_the_scratch_space_are_refused() -> None:
    big = {"data.bin": b"x" * (2 << 20)}
    with pytest.raises(ValueError, match="scratch space"):
        graders.run(
            image="any",
            checker=big,
            submission={},
            limits=graders.Limits(tmpfs_mb=1),
            client=UNREACHABLE,
        )


def test_unusable_environment_names_are_refused() -> None:
    with pytest.raises(ValueError, match="environment variable"):
        graders.run(image="any", checker={}, submission={}, env={"A=B": "1"}, client=UNREACHABLE)
