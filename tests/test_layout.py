"""The layout promises of DESIGN.md: platform/ is no package, graders/ knows no Django."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_platform_is_the_standard_library():
    assert not (ROOT / "platform" / "__init__.py").exists()
    code = "import platform, sys; print(platform.__file__); print(platform.python_version())"
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert str(ROOT) not in out[0], out
    assert out[1] == ".".join(map(str, sys.version_info[:3]))


def test_django_project_sees_the_standard_platform_module():
    import platform

    assert hasattr(platform, "python_version")
    assert not Path(platform.__file__).is_relative_to(ROOT)
