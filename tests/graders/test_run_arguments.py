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


@pytest.mark.parametrize("name", ["DOWNSTACK_LEARNER_UID", "DOWNSTACK_RESULT_BYTES", "PYTHONPATH"])
def test_variables_the_sandbox_owns_cannot_be_overridden(name: str) -> None:
    with pytest.raises(ValueError, match="set by the sandbox itself"):
        graders.run(image="any", checker={}, submission={}, env={name: "0"}, client=UNREACHABLE)


@pytest.mark.parametrize("command", [(), ("",), ["python3", None]])
def test_an_empty_command_is_refused(command) -> None:
    with pytest.raises(ValueError, match="command must be"):
        graders.run(image="any", checker={}, submission={}, command=command, client=UNREACHABLE)
