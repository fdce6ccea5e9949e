"""A Gradescope autograder runs learner code as root inside the sandbox (Gradescope's own
model). What that code still cannot do: reach a network under either runtime; under runc,
write to the envelope's stream or stop the entry program either. Run unprivileged, as
Gradescope advises, it cannot write results.json or signal the entry program. Root can
write results.json, which the README says.

Under gVisor root also reaches PID 1 (its /proc/1/fd/1 is writable despite
PR_SET_DUMPABLE, and SIGKILL from inside ends it), so it can turn its own run into a
grader error, which the README says too; that run spares the entry program."""

import shutil
from pathlib import Path

import docker
import pytest

import graders
from graders.gradescope import GRADESCOPE
from graders.images.gradescope import build_autograder_image
from tests.abuse.batch import RUNTIMES

HERE = Path(__file__).resolve().parent
pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def image(tmp_path_factory) -> str:
    source = tmp_path_factory.mktemp("autograder") / "source"
    shutil.copytree(HERE / "gradescope_autograder", source)
    (source / "run_autograder").chmod(0o755)
    return build_autograder_image(source, client=docker.from_env(), timeout_s=600)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_root_learner_code_reaches_nothing_and_cannot_forge_the_envelope(
    image: str, runtime: str
) -> None:
    if runtime not in (docker.from_env().info().get("Runtimes") or {}):
        pytest.skip(f"the {runtime} runtime is not registered with Docker")
    attack = (HERE / "gradescope_attack.py").read_bytes()
    gvisor = runtime == "runsc"
    spare = {"spare-the-entry": b""} if gvisor else {}

    result = graders.run(
        image=image,
        checker={"submission_metadata.json": b"{}"},
        submission={"attack.py": attack, **spare},
        limits=graders.Limits(timeout_s=60, memory_mb=512),
        command=("/autograder/run_autograder",),
        runtime=None if runtime == "runc" else runtime,
        dialect=GRADESCOPE,
    )

    assert result.results is not None, (result.error, result.log[-2000:])
    found = {test.name: test.output.splitlines() for test in result.results.tests}
    assert found["root"] == [
        *([] if gvisor else ["envelope: PermissionError"]),  # /proc/1 is not dumpable
        "network: OSError",
        "sigint-entry: done",  # sent, and ignored: the entry program sent its envelope
        *([] if gvisor else ["sigkill-entry: done"]),  # PID 1 takes no SIGKILL from inside
        "results: done",  # root may write results.json, as on Gradescope
    ]
    assert found["student"] == [
        *([] if gvisor else ["envelope: PermissionError"]),
        "network: OSError",
        "sigint-entry: PermissionError",
        *([] if gvisor else ["sigkill-entry: PermissionError"]),
        "results: PermissionError",  # unprivileged, it cannot touch the results
    ]
