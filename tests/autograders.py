"""Gradescope autograder zips as instructors make them, and `labs import-gradescope` run
as a command, for the tests of autograder labs."""

from __future__ import annotations

import io
import stat
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from django.core.management import call_command

EXECUTABLE = ("run_autograder", "setup.sh")


def autograder_zip(
    files: Mapping[str, bytes | str], *, top: str = "", executable: Sequence[str] = EXECUTABLE
) -> bytes:
    """A zip of ``files`` (name -> content), each under ``top``, the ``executable`` ones
    with their execute bits (a zip made on a machine without them has none)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(top + name)
            mode = 0o755 if name in executable else 0o644
            info.external_attr = (stat.S_IFREG | mode) << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def folder_files(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` by its relative path, as an instructor zips it."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def import_command(
    zip_path: Path, *, slug: str, title: str, solution: Path, args: Sequence[str] = ()
) -> str:
    """Run `manage.py labs import-gradescope` (into settings.LABS_DIR); its output."""
    out = io.StringIO()
    call_command(
        "labs",
        "import-gradescope",
        str(zip_path),
        "--slug",
        slug,
        "--title",
        title,
        "--solution",
        str(solution),
        *args,
        stdout=out,
    )
    return out.getvalue()
