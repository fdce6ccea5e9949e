"""`labs new`: scaffold a small, working lab to rewrite into a real one.

The scaffold passes `labs check` as created: a story, a starter with a planted bug, the
reference, a checker with a visible check on the learner's sample and a hidden one on
fresh logs, a variant that replays the visible answer, and unit tests for the checker's
pure logic. Its files live in lab_template/; every file there ends in ``.tmpl`` (so no
tool mistakes it for live code) and may use $slug, $title, $module and $labs_folder.
"""

from __future__ import annotations

import shutil
import string
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from catalog.labfiles import SLUG_RE, LabFormatError, load_lab

TEMPLATE = Path(__file__).resolve().parent / "lab_template"
SUFFIX = ".tmpl"


class LabExists(Exception):
    """The slug is taken, by a lab folder or by the unit tests it would get."""


@dataclass(frozen=True)
class CreatedLab:
    path: Path
    files: tuple[Path, ...]
    next_steps: tuple[str, ...]


def checker_test_path(labs_dir: Path, slug: str) -> Path:
    """Where a lab's checker tests go: tests/labs/ beside the labs folder, where pytest looks."""
    return labs_dir.parent / "tests" / "labs" / f"test_{slug.replace('-', '_')}_checker.py"


def lab_new(
    *,
    labs_dir: Path,
    slug: str,
    title: str | None = None,
    on_created: Callable[[str], None] = lambda line: None,
) -> CreatedLab:
    """Write the scaffold for `slug`; raises ValueError for a bad slug, LabExists for a
    taken one. Writes nothing unless every file it would write is new."""
    if not SLUG_RE.match(slug):
        raise ValueError(
            f"{slug!r} is not a lab slug: use 2 to 63 lower-case letters, digits and '-', "
            "starting with a letter or digit (e.g. cache-stampede)"
        )
    lab = labs_dir / slug
    test = checker_test_path(labs_dir, slug)
    for taken in (lab, test):
        if taken.exists():
            raise LabExists(f"{taken} already exists; choose another slug or remove it first")
    values = {
        "slug": slug,
        "title": title or slug.replace("-", " ").capitalize(),
        "module": slug.replace("-", "_"),
        "labs_folder": labs_dir.name,
    }
    if '"' in values["title"] or "\\" in values["title"]:
        raise ValueError("the title may not contain double quotes or backslashes")

    targets = [
        (source, lab / source.relative_to(TEMPLATE / "lab").with_suffix(""))
        for source in sorted((TEMPLATE / "lab").rglob(f"*{SUFFIX}"))
    ]
    targets.append((TEMPLATE / f"test_checker.py{SUFFIX}", test))
    written = []
    for source, target in targets:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(string.Template(source.read_text()).substitute(values))
        written.append(target)
    try:
        load_lab(lab)
    except LabFormatError as exc:
        # Only a title can make the scaffold invalid (too long, say): leave nothing behind.
        shutil.rmtree(lab)
        test.unlink()
        raise ValueError(f"the new lab would not load: {exc}") from None
    for target in written:
        on_created(f"  created {_shown(target)}")

    labs = _shown(labs_dir)
    return CreatedLab(
        path=lab,
        files=tuple(written),
        next_steps=(
            f"edit {labs}/{slug}/README.md, then the starter, solution, grader and variants",
            f".venv/bin/python manage.py labs check {slug} --runs 3",
            f".venv/bin/python -m pytest {_shown(test)}",
            f".venv/bin/python manage.py labs grade {slug} {labs}/{slug}/solution",
            ".venv/bin/python manage.py labs sync",
        ),
    )


def _shown(path: Path) -> str:
    """A path as the person who ran the command would type it: relative when it can be."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
