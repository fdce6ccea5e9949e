"""`labs import-gradescope`: turn a Gradescope autograder zip into a Downstack lab folder.

The folder holds the unpacked zip as grader/, the instructor's answer as solution/, a
starter (given, or the answer's file names left empty), a README and a lab.toml that
records the zip's sha256 and Gradescope's defaults (10 minutes, 768 MB, half a CPU), each
of which can be changed. Gradescope does not declare which files a learner submits; the
answer's files are taken as that list.

The folder is assembled out of sight (a dot-folder the catalog skips) and appears under
its slug only once the lab loads and, unless asked not to, its image is built: an
autograder whose setup.sh fails leaves nothing behind.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import docker

from catalog.gradescope import AutograderZipError, extract_autograder
from catalog.labfiles import (
    DEFAULT_BUILD_TIMEOUT_S,
    DIFFICULTIES,
    SLUG_RE,
    SUBMIT_NAME_RE,
    LabFormatError,
    LabSpec,
    load_lab,
)
from graders.images.gradescope import build_autograder_image

# Gradescope's defaults for an autograder, written into lab.toml where they can be changed.
GRADESCOPE_LIMITS = {
    "timeout_s": 600,
    "memory_mb": 768,
    "cpus": 0.5,
    "pids": 256,
    "scratch_mb": 256,
}
MAX_ANSWER_FILES = 50

OnLog = Callable[[str], None]


class GradescopeImportError(ValueError):
    """The import cannot go ahead; the message says which input is wrong and how.

    ``strippable_folder`` is set when the zip's files sit in one top-level folder, so the
    caller can offer to import again with it stripped."""

    def __init__(self, message: str, *, strippable_folder: str | None = None):
        super().__init__(message)
        self.strippable_folder = strippable_folder


@dataclass(frozen=True)
class Imported:
    spec: LabSpec
    zip_sha256: str
    image: str | None  # None when the build was skipped
    stripped_folder: str | None


def import_gradescope(
    zip_path: Path,
    *,
    labs_dir: Path,
    slug: str,
    title: str,
    solution: Path,
    starter: Path | None = None,
    readme: Path | None = None,
    summary: str = "",
    difficulty: str = "intermediate",
    minutes: int = 60,
    strip_top_folder: bool = False,
    build: bool = True,
    build_timeout_s: int = DEFAULT_BUILD_TIMEOUT_S,
    client: docker.DockerClient | None = None,
    on_log: OnLog = lambda line: None,
) -> Imported:
    """Write ``labs_dir/slug`` from the zip and the answer; build its image unless
    ``build`` is false. Raises GradescopeImportError for unusable inputs (nothing is written),
    graders.images.gradescope.AutograderBuildError when setup.sh fails (nothing is kept).
    """
    _check_choices(slug, title, difficulty, labs_dir)
    answer = _answer_files(solution, "--solution")
    submit = tuple(sorted(answer))
    starter_files = _answer_files(starter, "--starter") if starter else dict.fromkeys(submit, b"")
    if starter and set(starter_files) != set(submit):
        raise GradescopeImportError(
            f"--starter {starter} must hold the same files as the answer "
            f"({', '.join(submit)}), not {', '.join(sorted(starter_files))}"
        )
    instructions = _readme(readme, title, submit)
    work = Path(tempfile.mkdtemp(prefix=f".import-{slug}-", dir=labs_dir))
    try:
        folder = work / slug
        folder.mkdir()
        try:
            extracted = extract_autograder(
                zip_path, folder / "grader", strip_top_folder=strip_top_folder
            )
        except AutograderZipError as exc:
            hint = (
                " To do so, import again with --strip-top-folder." if exc.strippable_folder else ""
            )
            raise GradescopeImportError(
                f"{exc}{hint}", strippable_folder=exc.strippable_folder
            ) from None
        _write_files(folder / "solution", answer)
        _write_files(folder / "starter", starter_files)
        (folder / "README.md").write_text(instructions, encoding="utf-8")
        (folder / "lab.toml").write_text(
            lab_toml(
                title=title,
                summary=summary or f"A Gradescope autograder, imported from {zip_path.name}.",
                difficulty=difficulty,
                minutes=minutes,
                submit=submit,
                zip_sha256=extracted.sha256,
                build_timeout_s=build_timeout_s,
            ),
            encoding="utf-8",
        )
        try:
            load_lab(folder)
        except LabFormatError as exc:
            raise GradescopeImportError(f"the imported lab would not load: {exc}") from None
        image = None
        if build:
            image = build_autograder_image(
                folder / "grader",
                client=client or docker.from_env(),
                timeout_s=build_timeout_s,
                on_log=on_log,
            )
        target = labs_dir / slug
        if target.exists():  # taken while the image was being built
            raise GradescopeImportError(f"{target} appeared during the import; nothing was changed")
        folder.rename(target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return Imported(load_lab(target), extracted.sha256, image, extracted.stripped_folder)


def lab_toml(
    *,
    title: str,
    summary: str,
    difficulty: str,
    minutes: int,
    submit: tuple[str, ...],
    zip_sha256: str,
    build_timeout_s: int,
) -> str:
    """The lab.toml of an imported autograder (TOML strings written as JSON ones, which
    TOML's basic strings accept)."""
    limits = "\n".join(f"{key} = {value}" for key, value in GRADESCOPE_LIMITS.items())
    return f"""title = {json.dumps(title)}
summary = {json.dumps(summary)}
skills = []
difficulty = "{difficulty}"
minutes = {minutes}
# The files a learner submits, taken from the instructor's answer (solution/).
submit = {json.dumps(list(submit))}

# An unmodified Gradescope autograder: grader/ holds the zip's files, and its image is
# built from them as Gradescope builds (`manage.py labs build-images`).
[gradescope]
# The zip this lab was imported from.
zip_sha256 = "{zip_sha256}"
# The longest its setup.sh may take to build the image, in seconds.
build_timeout_s = {build_timeout_s}

# Gradescope's defaults: 10 minutes, 768 MB, half a CPU. Change any of them.
[limits]
{limits}

# What the starter scores; `labs check` proves it, and the answer's full marks.
[starter]
min_score = 0
max_score = 0
"""


def _check_choices(slug: str, title: str, difficulty: str, labs_dir: Path) -> None:
    if not SLUG_RE.match(slug):
        raise GradescopeImportError(
            f"{slug!r} is not a lab slug: use 2 to 63 lower-case letters, digits and '-'"
        )
    if (labs_dir / slug).exists():
        raise GradescopeImportError(f"{labs_dir / slug} already exists; choose another slug")
    if not title.strip() or len(title) > 120:
        raise GradescopeImportError("the title must be 1 to 120 characters")
    if difficulty not in DIFFICULTIES:
        raise GradescopeImportError(f"the difficulty must be one of {', '.join(DIFFICULTIES)}")
    if not labs_dir.is_dir():
        raise GradescopeImportError(f"the labs folder {labs_dir} does not exist")


def _answer_files(folder: Path, option: str) -> dict[str, bytes]:
    """The files directly in an answer folder: they are what a learner submits."""
    if not folder.is_dir():
        raise GradescopeImportError(f"{option} {folder} is not a folder")
    files: dict[str, bytes] = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or path.name == "__pycache__":
            continue
        if path.is_symlink() or not path.is_file():
            raise GradescopeImportError(
                f"{option} {folder}: {path.name} is not a plain file; a learner submits "
                "files, not folders or links"
            )
        if not SUBMIT_NAME_RE.match(path.name):
            raise GradescopeImportError(
                f"{option} {folder}: {path.name!r} is not a plain file name"
            )
        files[path.name] = path.read_bytes()
    if not files:
        raise GradescopeImportError(f"{option} {folder} holds no files")
    if len(files) > MAX_ANSWER_FILES:
        raise GradescopeImportError(f"{option} {folder} holds more than {MAX_ANSWER_FILES} files")
    return files


def _write_files(folder: Path, files: dict[str, bytes]) -> None:
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(data)


def _readme(readme: Path | None, title: str, submit: tuple[str, ...]) -> str:
    if readme is not None:
        try:
            return readme.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise GradescopeImportError(
                f"--readme {readme} cannot be read as UTF-8 text: {exc}"
            ) from None
    names = ", ".join(f"`{name}`" for name in submit)
    return (
        f"# {title}\n\nSubmit {names}. This lab is graded by its Gradescope autograder, "
        "run unchanged in Downstack's sandbox.\n"
    )
