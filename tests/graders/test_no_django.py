"""graders/ is a plain library: importing any of it must not pull in Django."""

import ast
import subprocess
import sys
from pathlib import Path

import graders

GRADERS_DIR = Path(graders.__file__).resolve().parent
MODULES = (
    "graders",
    "graders.limits",
    "graders.results",
    "graders.sandbox",
    "graders.images",
    "graders.images.builder",
    "graders.images.__main__",
)


def test_importing_every_graders_module_loads_no_django() -> None:
    code = (
        f"import importlib, sys\n"
        f"for name in {MODULES!r}: importlib.import_module(name)\n"
        f"sys.path.insert(0, {str(GRADERS_DIR / 'harness')!r})\n"
        f"import downstack_harness\n"
        f"loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'django')\n"
        f"assert not loaded, loaded\n"
    )
    # A clean interpreter: this test process may have Django loaded by other tests.
    completed = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=GRADERS_DIR.parent,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr


def test_no_graders_source_file_mentions_a_django_import() -> None:
    offenders = []
    for path in sorted(GRADERS_DIR.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "import_module":
                names = [a.value for a in node.args if isinstance(a, ast.Constant)]
            else:
                continue
            if any(str(name).split(".")[0] == "django" for name in names):
                offenders.append(f"{path.relative_to(GRADERS_DIR.parent)}:{node.lineno}")
    assert not offenders, offenders
    assert len(list(GRADERS_DIR.rglob("*.py"))) >= 8  # the scan really saw the package
