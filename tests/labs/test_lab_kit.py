"""Every lab's checker uses the harness's public API only.

A lab that reaches into the harness's private names would keep a copy of its rules (the
limits, the sweep) out of reach of the next hardening fix, so this test reads every
Python file under labs/ and fails on any `_`-prefixed name the harness defines.
"""

from __future__ import annotations

import ast
from pathlib import Path

from graders.images import HARNESS_FILE

LABS = Path(__file__).resolve().parents[2] / "labs"


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def harness_private_names() -> set[str]:
    tree = ast.parse(HARNESS_FILE.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and _private(node.name):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name) and _private(t.id))
    return names


def private_uses(source: str, private: set[str]) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module == "downstack_harness":
            found += [alias.name for alias in node.names if _private(alias.name)]
        elif isinstance(node, ast.Attribute) and node.attr in private:
            found.append(node.attr)
    return found


def test_the_harness_has_private_names_to_guard():
    assert {"_apply_limits", "_learner_limits", "_sweep_learner", "_clean_up"} <= (
        harness_private_names()
    )


def test_a_lab_reaching_into_the_harness_is_caught():
    source = (
        "from downstack_harness import Grader, _apply_limits\n"
        "g = Grader()\n"
        "g._clean_up('x', None)\n"
    )
    assert private_uses(source, harness_private_names()) == ["_apply_limits", "_clean_up"]


def test_no_lab_imports_or_calls_a_private_harness_name():
    private = harness_private_names()
    offenders = {
        str(path.relative_to(LABS)): uses
        for path in sorted(LABS.rglob("*.py"))
        if (uses := private_uses(path.read_text(), private))
    }
    assert not offenders, offenders
