"""Writes results.json last, with what each attack found, so that a forged one is replaced
and the test reads the findings from the sandbox's own result."""

import json

tests = []
for who in ("root", "student"):
    with open(f"/tmp/{who}.txt") as findings:
        tests.append({"name": who, "score": 1, "max_score": 1, "output": findings.read()})
with open("/autograder/results/results.json", "w") as results:
    json.dump({"tests": tests}, results)
