"""Running the learner's regression test against versions of the patched code.

Each run happens as the learner uid (through the harness), in a fresh folder that holds
the learner's test_regression.py next to one version's ``relay`` package and nothing
else, so a test can only tell versions apart by how their code behaves.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from downstack_harness import Grader

HERE = Path(__file__).resolve().parent
TEST_FILE = "test_regression.py"
PACKAGE = "relay"
RUN_MEMORY_MB = 256


def _starter_tool():
    """The learner's run_regression.py, which lab.toml includes for the checker."""
    path = HERE / "starter" / "run_regression.py"
    spec = importlib.util.spec_from_file_location("ai_patch_review_run_regression", path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# Tests run here exactly as the starter's run_regression.py runs them, with its driver
# (unittest test cases and plain module-level asserts both count; the exit status is
# the verdict) and its time limit.
_TOOL = _starter_tool()
DRIVER: str = _TOOL.DRIVER
RUN_TIMEOUT_S = float(_TOOL.TIMEOUT_S)
_FAILED_TEST = re.compile(r"^(?:FAIL|ERROR): (test\w{0,60})", re.MULTILINE)


@dataclass(frozen=True)
class TestRun:
    """One run of the learner's test against one version."""

    version: str
    passed: bool
    timed_out: bool
    summary: str  # for the learner: what happened, without the version's source
    staff_summary: str  # for the staff log: with the names of the tests that failed
    output_tail: str  # the end of the test's output (shown only for the public PR version)


def failing_tests(output: str, source: str, limit: int = 3) -> list[str]:
    """Names of the learner's tests that failed or errored, as unittest printed them.

    Only names written in the test's own source are reported: a name made up at run
    time could carry text read from a hidden version out through the feedback.
    """
    names = [n for n in dict.fromkeys(_FAILED_TEST.findall(output)) if n in source]
    return names[:limit]


def describe(
    returncode: int | None,
    timed_out: bool,
    memory_exceeded: bool,
    output: str,
    source: str,
    *,
    hidden: bool = False,
) -> str:
    """What happened to one run, in words for the learner.

    On a hidden version the words carry nothing the test chose: which of its tests
    failed, or its exit status, could spell out facts about the hidden code (a hash of
    its source, a bit at a time), and with them a test could recognise the versions
    instead of telling them apart by behaviour.
    """
    if timed_out:
        return f"did not finish within {RUN_TIMEOUT_S:g} s (a hang counts as a failure)"
    if memory_exceeded:
        return f"used more than {RUN_MEMORY_MB} MB and was stopped"
    if returncode == 0:
        return "passed"
    if hidden:
        return "failed"
    names = failing_tests(output, source)
    if names:
        return "failed (" + ", ".join(names) + ")"
    return f"failed (exit status {returncode})"


def run_against(
    g: Grader, version: Mapping[str, bytes], test_source: bytes, *, name: str, hidden: bool
) -> TestRun:
    """Run the learner's test, as the learner uid, on one version (its files by path)."""
    # The staging folder is the checker's own (0700), so the learner uid never sees it;
    # the harness runs the test in a fresh copy of it that the learner may read.
    stage = Path(tempfile.mkdtemp(prefix="regression-"))
    try:
        for path, data in version.items():
            if path.startswith(PACKAGE + "/"):
                target = stage / path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
        (stage / TEST_FILE).write_bytes(test_source)
        run = g.run_learner(
            ["python3", "-c", DRIVER],
            timeout_s=RUN_TIMEOUT_S,
            memory_mb=RUN_MEMORY_MB,
            source=stage,
        )
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    output = (run.stdout + b"\n" + run.stderr).decode("utf-8", errors="replace")
    facts = (
        run.returncode,
        run.timed_out,
        run.memory_exceeded,
        output,
        test_source.decode("utf-8", errors="replace"),
    )
    return TestRun(
        version=name,
        passed=run.ok,
        timed_out=run.timed_out,
        summary=describe(*facts, hidden=hidden),
        staff_summary=describe(*facts),
        output_tail="\n".join(output.strip().splitlines()[-25:]),
    )
