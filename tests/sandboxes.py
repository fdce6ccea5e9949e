"""Finding sandbox containers on the Docker engine from tests, by an environment entry;
and RunResults as the sandbox returns them, for tests that fake graders.run."""

import docker
import docker.errors

from graders.sandbox import LABEL, RunResult


def run_result(**facts) -> RunResult:
    """A RunResult of a run that ended by itself with nothing to report, but ``facts``."""
    defaults = dict(
        results=None,
        error=None,
        exit_code=0,
        duration_s=0.5,
        peak_memory_bytes=None,
        timed_out=False,
        oom_killed=False,
        output_truncated=False,
        log="",
    )
    return RunResult(**{**defaults, **facts})


def containers_with_env(client: docker.DockerClient, *entries: str) -> list[dict]:
    """The sandbox containers, running or not, whose environment holds one of ``entries``
    ("NAME=value"), as the engine lists them (``Id``, ``State``, ...)."""
    found = []
    for summary in client.api.containers(all=True, filters={"label": LABEL}):
        try:
            env = client.api.inspect_container(summary["Id"])["Config"]["Env"] or []
        except docker.errors.NotFound:
            continue  # removed between listing and looking: not a leftover
        if any(entry in env for entry in entries):
            found.append(summary)
    return found
