"""Regenerate results/<solution>.json: run suite.py over each solution in solutions/
through gradescope-utils' JSONTestRunner, one process per solution (partial_credit keeps
its score on the decorated function, so runs in one process would leak into each other).

Run with a Python that has gradescope-utils installed: ``python make_results.py``.
"""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
RUN_ONE = """
import sys, unittest
from gradescope_utils.autograder_utils.json_test_runner import JSONTestRunner
suite = unittest.defaultTestLoader.loadTestsFromName("suite")
with open(sys.argv[1], "w") as out:
    JSONTestRunner(stream=out, visibility="visible", stdout_visibility="hidden").run(suite)
"""


def main() -> None:
    for solution in sorted((HERE / "solutions").iterdir()):
        target = HERE / "results" / f"{solution.name}.json"
        subprocess.run(
            [sys.executable, "-c", RUN_ONE, str(target)],
            cwd=HERE,
            env={"PYTHONPATH": f"{solution}:{HERE}"},
            check=True,
        )
        print(f"wrote {target.relative_to(HERE)}")


if __name__ == "__main__":
    main()
