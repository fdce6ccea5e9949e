"""Running the learner's regression test against versions of the patched code.

Each run happens as the learner uid (through the harness), in a fresh folder that holds
the learner's test_regression.py next to one version's ``relay`` package and nothing
else, so a test can only tell versions apart by how their code behaves.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from downstack_harness import Grader

TEST_FILE = "test_regression.py"
PACKAGE = "relay"
RUN_TIMEOUT_S = 6.0
RUN_MEMORY_MB = 256

# The same driver as the starter's run_regression.py: unittest test cases and plain
# module-level asserts both count, and the exit status is the verdict.
DRIVER = (
    "import sys, unittest\n"
    "suite = unittest.defaultTestLoader.loadTestsFromName('test_regression')\n"
    "result = unittest.TextTestRunner(stream=sys.stdout, verbosity=2).run(suite)\n"
    "sys.exit(0 if result.wasSuccessful() else 1)\n"
)
_FAILED_TEST = re.compile(r"^(?:FAIL|ERROR): (test\w{0,60})", re.MULTILINE)


@dataclass(frozen=True)
class TestRun:
    """One run of the learner's test against one version."""

    version: str
    passed: bool
    timed_out: bool
    summary: str  # for the learner: what happened, without the version's source
    output_tail: str  # the end of the test's output (shown only for the public PR version)


def failing_tests(output: str, source: str, limit: int = 3) -> list[str]:
    """Names of the learner's tests that failed or errored, as unittest printed them.

    Only names written in the test's own source are reported: a name made up at run
    time could carry text read from a hidden version out through the feedback.
    """
    names = [n for n in dict.fromkeys(_FAILED_TEST.findall(output)) if n in source]
    return names[:limit]


def describe(
    returncode: int | None, timed_out: bool, memory_exceeded: bool, output: str, source: str
) -> str:
    if timed_out:
        return f"did not finish within {RUN_TIMEOUT_S:g} s (a hang counts as a failure)"
    if memory_exceeded:
        return f"used more than {RUN_MEMORY_MB} MB and was stopped"
    if returncode == 0:
        return "passed"
    names = failing_tests(output, source)
    if names:
        return "failed (" + ", ".join(names) + ")"
    return f"failed (exit status {returncode})"


def run_against(
    version_dir: Path, test_source: bytes, *, name: str, environ: Mapping[str, str] | None = None
) -> TestRun:
    """Run the learner's test on one version of the code, as the learner uid."""
    # The outer folder is the checker's own (0700), so the learner uid never sees the
    # staging area; inside it the tree is world-readable, because the harness copies
    # its modes and then has to walk the copy after handing it to the learner uid.
    stage = Path(tempfile.mkdtemp(prefix="regression-"))
    payload = stage / "payload"
    try:
        shutil.copytree(version_dir / PACKAGE, payload / PACKAGE)
        (payload / TEST_FILE).write_bytes(test_source)
        for path in [payload, *payload.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        env = dict(os.environ if environ is None else environ)
        env["DOWNSTACK_SUBMISSION"] = str(payload)
        runner = Grader(environ=env)  # used only to start the learner's process
        run = runner.run_learner(
            ["python3", "-c", DRIVER], timeout_s=RUN_TIMEOUT_S, memory_mb=RUN_MEMORY_MB
        )
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    output = (run.stdout + b"\n" + run.stderr).decode("utf-8", errors="replace")
    return TestRun(
        version=name,
        passed=run.ok,
        timed_out=run.timed_out,
        summary=describe(
            run.returncode,
            run.timed_out,
            run.memory_exceeded,
            output,
            test_source.decode("utf-8", errors="replace"),
        ),
        output_tail="\n".join(output.strip().splitlines()[-25:]),
    )
