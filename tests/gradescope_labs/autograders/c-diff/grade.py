"""Diff-based grading of wc.c: build it with make, then compare its output on each case
with the expected one. results.json is rewritten after every case, so a submission that
hangs on one case keeps the points of those before it."""

import difflib
import json
import os
import subprocess
from pathlib import Path

RESULTS = Path("/autograder/results/results.json")
# (input file, points): the expected output is beside it as <name>.out
CASES = [("one-line", 1), ("empty", 2), ("spaces-and-tabs", 3), ("a-long-text", 4)]
TOTAL = sum(points for _, points in CASES)


def write(tests, output=""):
    partial = RESULTS.with_suffix(".tmp")
    partial.write_text(json.dumps({"max_score": TOTAL, "output": output, "tests": tests}))
    os.replace(partial, RESULTS)


def main():
    build = subprocess.run(["make", "-s"], capture_output=True, text=True)
    if build.returncode != 0:
        write(
            [
                {
                    "name": "wc.c compiles",
                    "score": 0,
                    "max_score": TOTAL,
                    "output": build.stdout + build.stderr,
                }
            ],
            output="wc.c does not compile, so no case could run.",
        )
        return
    tests = []
    for name, points in CASES:
        given = (Path("cases") / f"{name}.in").read_bytes()
        expected = (Path("cases") / f"{name}.out").read_text()
        run = subprocess.run(["./wc"], input=given, capture_output=True)
        got = run.stdout.decode("utf-8", "replace")
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(True), got.splitlines(True), "expected", "yours"
            )
        )
        tests.append(
            {
                "name": f"case {name}",
                "score": points if got == expected else 0,
                "max_score": points,
                "output": "Output matches." if got == expected else f"```diff\n{diff}```",
                "output_format": "md",
            }
        )
        write(tests)


if __name__ == "__main__":
    main()
