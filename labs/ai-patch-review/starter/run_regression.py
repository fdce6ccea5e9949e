"""Run test_regression.py against a version of the code, the way the grader does.

    python3 run_regression.py pr-head      # must FAIL: your test catches the PR
    python3 run_regression.py my-fix       # must PASS: your test accepts a correct fix

Your test is copied into an empty folder next to that version's relay/ package and
nothing else (not the repository's tests/), then run with the driver below: unittest
test cases and plain module-level asserts both count; the exit status is the verdict.
"""

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
TIMEOUT_S = 6  # the grader's limit per run; a hang counts as a failure
DRIVER = (
    "import sys, unittest\n"
    "suite = unittest.defaultTestLoader.loadTestsFromName('test_regression')\n"
    "result = unittest.TextTestRunner(stream=sys.stdout, verbosity=2).run(suite)\n"
    "sys.exit(0 if result.wasSuccessful() else 1)\n"
)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("version", type=Path, help="a folder holding a relay/ package")
    parser.add_argument("--test", type=Path, default=HERE / "test_regression.py")
    args = parser.parse_args()
    if not (args.version / "relay").is_dir():
        sys.exit(f"{args.version} has no relay/ package; did you run apply_pr.py?")
    with tempfile.TemporaryDirectory() as stage:
        shutil.copytree(args.version / "relay", Path(stage) / "relay")
        shutil.copy(args.test, Path(stage) / "test_regression.py")
        try:
            done = subprocess.run(
                [sys.executable, "-c", DRIVER], cwd=stage, timeout=TIMEOUT_S, check=False
            )
        except subprocess.TimeoutExpired:
            print(f"\nFAILED: did not finish within {TIMEOUT_S} s")
            sys.exit(1)
    print(f"\n{'PASSED' if done.returncode == 0 else 'FAILED'} on {args.version}")
    sys.exit(done.returncode)


if __name__ == "__main__":
    main()
