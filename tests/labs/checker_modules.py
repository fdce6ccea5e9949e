"""Importing a lab's checker modules in tests, from the files the sandbox would give it.

The checker's folder is grader/ plus what `[grader] include` names, so the modules are
imported from a temporary folder laid out exactly so (labfiles.checker_files) rather
than from grader/ alone, with the harness beside them as in the grader image. The
modules are removed from sys.modules again, so labs whose modules share names (every
lab has a check.py) do not see each other's.
"""

from __future__ import annotations

import ast
import importlib
import sys
import tempfile
from pathlib import Path
from types import ModuleType

from catalog.labfiles import load_lab

ROOT = Path(__file__).resolve().parents[2]
HARNESS = ROOT / "graders" / "harness"
# Folders live as long as the test session: checker modules read their files from them.
_FOLDERS: list[tempfile.TemporaryDirectory] = []


def load_checker(slug: str, modules: tuple[str, ...]) -> tuple[Path, dict[str, ModuleType]]:
    """(the checker's folder, its modules by name) for the lab `slug` under labs/."""
    folder = tempfile.TemporaryDirectory(prefix=f"{slug}-checker-")
    _FOLDERS.append(folder)
    root = Path(folder.name)
    for name, data in load_lab(ROOT / "labs" / slug).checker_files().items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    names = tuple(dict.fromkeys((*modules, "downstack_harness")))
    set_aside = {name: sys.modules.pop(name) for name in names if name in sys.modules}
    saved_path = list(sys.path)
    sys.path[:0] = [str(root), str(HARNESS)]
    try:
        return root, {name: importlib.import_module(name) for name in modules}
    finally:
        sys.path[:] = saved_path  # a checker may add folders of its own (its includes)
        for name in names:
            sys.modules.pop(name, None)
        sys.modules.update(set_aside)


def private_uses(lab: Path, *, imported_from: str | None = None) -> list[str]:
    """Where a .py file of `lab` imports a `_` name (from `imported_from`, or from any
    module when it is None) or reaches into a `_` attribute of anything but `self`."""
    found = []
    for path in sorted(lab.rglob("*.py")):
        where = path.relative_to(lab)
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.ImportFrom) and imported_from in (None, node.module):
                private = [alias.name for alias in node.names if alias.name.startswith("_")]
                if private:
                    found.append(f"{where} imports {private}")
            if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
                owner = node.value
                own = isinstance(owner, ast.Name) and owner.id == "self"
                dunder = node.attr.startswith("__") and node.attr.endswith("__")
                if not (own or dunder):
                    found.append(f"{where}:{node.lineno} uses .{node.attr}")
    return found
