"""Reading a lab folder (lab.toml, README.md, starter/, solution/, grader/, variants/).

This module knows the lab format and nothing about the database: `load_lab` turns a
folder into a frozen LabSpec or raises LabFormatError naming the file and the field.

Nothing is copied between a lab's parts. The checker receives grader/ plus the starter
or solution files that `[grader] include` names, under the same paths
(``include = ["starter/simulate.py"]`` puts ``starter/simulate.py`` beside check.py),
assembled by `checker_files`. A variant declares its base (``base = "starter"`` or
``"solution"``) and holds only the files it changes; a variant file identical to its
base's is refused, so copies cannot creep back.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import graders.images
from graders.images import gradescope as gradescope_images

from . import patches

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
SUBMIT_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
DIFFICULTIES = ("intro", "intermediate", "advanced")
RUNTIMES = ("runc", "runsc")
MAX_TIMEOUT_S = 600
# What a variant is laid over, and what `[grader] include` may take files from.
BASES = ("starter", "solution")
# How a lab's checker runs and answers: Downstack's own contract, or an unmodified
# Gradescope autograder (a lab.toml with a [gradescope] table; grader/ holds the zip's files).
NATIVE, GRADESCOPE = "native", "gradescope"
GRADESCOPE_FILES = ("setup.sh", "run_autograder")
GRADESCOPE_COMMAND = (f"{gradescope_images.AUTOGRADER_DIR}/run_autograder",)
ZIP_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
# How long an autograder's setup.sh may take to build its image.
DEFAULT_BUILD_TIMEOUT_S = 900


class LabFormatError(Exception):
    """A lab folder that does not follow the format; says which file and which field."""

    def __init__(self, path: Path, field: str, message: str):
        self.path = path
        self.field = field
        super().__init__(f"{path}: {field}: {message}")


@dataclass(frozen=True)
class Expectation:
    """The score range a known submission (starter or variant) must land in."""

    name: str
    min_score: float
    max_score: float
    description: str
    base: str = "starter"  # the files a variant is laid over (the starter's is itself)


@dataclass(frozen=True)
class LabSpec:
    slug: str
    path: Path
    title: str
    summary: str
    skills: tuple[str, ...]
    difficulty: str
    minutes: int
    submit: tuple[str, ...]
    image: str
    command: tuple[str, ...]
    runtime: str | None
    seeded: bool
    check_seed: int
    # At a time-out, the checks made before it stand (see graders.Outcome); a lab whose
    # partial results would mislead sets [grader] partial_on_timeout = false.
    partial_on_timeout: bool
    timeout_s: int
    memory_mb: int
    cpus: float
    pids: int
    # Scratch space (/tmp, the checker's folder) and the largest file in it; None keeps
    # the sandbox's defaults.
    scratch_mb: int | None
    upload_kb: int
    attempts_per_hour: int | None
    instructions: str
    starter: Expectation
    variants: tuple[Expectation, ...]
    content_hash: str
    include: tuple[str, ...] = ()
    dialect: str = NATIVE
    # A Gradescope autograder's: the sha256 of the zip it was imported from, and the cap
    # on its image's build.
    zip_sha256: str = ""
    build_timeout_s: int = DEFAULT_BUILD_TIMEOUT_S

    def files(self, part: str) -> dict[str, bytes]:
        """Every file under starter/, solution/, grader/ or variants/<name>/, by relative path."""
        return read_tree(self.path / part)

    def checker_files(self) -> dict[str, bytes]:
        """What the checker receives: grader/ and the included starter or solution files."""
        return checker_files(self.path, self.include)

    def submitted_files(self, base: str) -> dict[str, bytes]:
        """The files a learner would submit from starter/ or solution/ (the `submit` names)."""
        files = self.files(base)
        return {name: files[name] for name in self.submit if name in files}

    def variant_files(self, variant: Expectation) -> dict[str, bytes]:
        """A variant as it is submitted: its base's submitted files with its own laid
        over, and each `<name>.diff` applied to the base's `<name>`."""
        files = self.submitted_files(variant.base)
        for name, data in self.files(f"variants/{variant.name}").items():
            if name.endswith(patches.SUFFIX):
                target = name.removesuffix(patches.SUFFIX)
                files[target] = patches.apply_bytes(files[target], data)
            else:
                files[name] = data
        return files


def checker_files(path: Path, include: tuple[str, ...] | list[str]) -> dict[str, bytes]:
    """grader/ of the lab at `path`, plus each included file or folder under its own path.

    The one place a checker's files are assembled: grading, `labs check` and
    `labs grade` all come here, so what a checker is tried with is what it grades with.
    """
    files = read_tree(path / "grader")
    for entry in include:
        source = path / entry
        if source.is_dir():
            for name, data in read_tree(source).items():
                files[f"{entry}/{name}"] = data
        else:
            files[entry] = source.read_bytes()
    return files


def read_tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def tree_hash(root: Path) -> str:
    digest = hashlib.sha256()
    for name, data in read_tree(root).items():
        digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    return digest.hexdigest()


class _Fields:
    """Typed access to one TOML table, with errors that name the file and the field."""

    def __init__(self, path: Path, table: dict, prefix: str = ""):
        self.path, self.table, self.prefix = path, table, prefix

    def _fail(self, key: str, message: str) -> LabFormatError:
        return LabFormatError(self.path, self.prefix + key, message)

    def get(self, key: str, kind: type | tuple[type, ...], default=...):
        if key not in self.table:
            if default is ...:
                raise self._fail(key, "is required")
            return default
        value = self.table[key]
        if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            raise self._fail(key, f"must be {_kind_name(kind)}, not a boolean")
        if not isinstance(value, kind):
            raise self._fail(key, f"must be {_kind_name(kind)}, not {type(value).__name__}")
        return value

    def text(self, key: str, default=..., max_len: int = 300) -> str:
        value = self.get(key, str, default)
        if value is not None and not value.strip() and default is ...:
            raise self._fail(key, "must not be empty")
        if value is not None and len(value) > max_len:
            raise self._fail(key, f"must be at most {max_len} characters")
        return value

    def number(self, key: str, default=..., *, low: float, high: float, integer: bool = True):
        value = self.get(key, int if integer else (int, float), default)
        if value is not None and not low <= value <= high:
            raise self._fail(key, f"must be between {low:g} and {high:g}, not {value}")
        return value

    def strings(self, key: str, default=..., *, pattern: re.Pattern | None = None) -> tuple:
        value = self.get(key, list, default)
        for item in value:
            if not isinstance(item, str) or not item:
                raise self._fail(key, "must be a list of non-empty strings")
            if pattern and not pattern.match(item):
                raise self._fail(key, f"{item!r} is not a plain file name")
        if len(set(value)) != len(value):
            raise self._fail(key, "must not repeat a name")
        return tuple(value)

    def table_of(self, key: str) -> _Fields:
        value = self.get(key, dict, {})
        return _Fields(self.path, value, f"{self.prefix}{key}.")

    def reject_unknown(self, known: set[str]) -> None:
        for key in self.table:
            if key not in known:
                raise self._fail(key, f"is not a known field (known: {', '.join(sorted(known))})")


def _kind_name(kind) -> str:
    names = {str: "text", int: "a whole number", float: "a number", list: "a list", dict: "a table"}
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _expectation(
    fields: _Fields, name: str, default_range: tuple[float, float] | None, base: str = "starter"
):
    low = fields.number("min_score", None, low=0, high=1e6, integer=False)
    high = fields.number("max_score", None, low=0, high=1e6, integer=False)
    if low is None or high is None:
        if default_range is None:
            raise fields._fail("min_score" if low is None else "max_score", "is required")
        low = default_range[0] if low is None else low
        high = default_range[1] if high is None else high
    if low > high:
        raise fields._fail("min_score", f"{low:g} is above max_score {high:g}")
    known = {"min_score", "max_score", "description"} | ({"base"} if name != "starter" else set())
    fields.reject_unknown(known)
    return Expectation(
        name, float(low), float(high), fields.text("description", "", max_len=500), base
    )


def _include(grader: _Fields, path: Path) -> tuple[str, ...]:
    """`[grader] include`: starter or solution files or folders the checker also gets."""
    entries = grader.strings("include", [])
    for entry in entries:
        parts = entry.split("/")
        if parts[0] not in BASES or len(parts) < 2 or any(p in ("", ".", "..") for p in parts):
            raise grader._fail("include", f"{entry!r} must be a path under starter/ or solution/")
        if not (path / entry).exists():
            raise LabFormatError(path / entry, "grader.include", "file or folder is missing")
    for base in BASES:
        if (path / "grader" / base).exists():
            raise LabFormatError(
                path / "grader" / base,
                "grader.include",
                f"grader/{base} would clash with included {base}/ files; rename it",
            )
    return entries


def _variant_files_problem(path: Path, variant: Expectation, submit: tuple[str, ...]) -> None:
    """A variant holds only files a learner can submit, or diffs of its base's that
    apply, and only ones that differ."""
    folder = path / "variants" / variant.name
    field = f"variants.{variant.name}"
    held = read_tree(folder)
    for name, data in held.items():
        target = name.removesuffix(patches.SUFFIX)
        if name != target and target in submit:
            _diff_problem(folder / name, field, path / variant.base / target, data)
            if target in held:
                raise LabFormatError(
                    folder / name, field, f"{target} is there too: keep the file or its diff"
                )
            continue
        if name not in submit:
            raise LabFormatError(
                folder / name,
                field,
                f"{name} is not a file this lab takes (submit = {list(submit)}), "
                f"nor a diff of one (<name>{patches.SUFFIX})",
            )
        base_file = path / variant.base / name
        if base_file.is_file() and base_file.read_bytes() == data:
            raise LabFormatError(
                folder / name,
                f"variants.{variant.name}",
                f"is identical to {variant.base}/{name}; delete it, the base provides it",
            )


def _diff_problem(diff_path: Path, field: str, base_file: Path, diff: bytes) -> None:
    """A variant's diff must apply to its base's file and change it."""
    if not base_file.is_file():
        raise LabFormatError(
            diff_path, field, f"there is no {base_file.name} in the base to apply it to"
        )
    original = base_file.read_bytes()
    try:
        changed = patches.apply_bytes(original, diff)
    except patches.PatchError as error:
        raise LabFormatError(
            diff_path, field, f"does not apply to {base_file.parent.name}/{base_file.name}: {error}"
        ) from None
    if changed == original:
        raise LabFormatError(diff_path, field, "changes nothing; delete it, the base provides it")


def load_lab(path: Path) -> LabSpec:
    """Read and validate one lab folder. Raises LabFormatError; never touches the database."""
    slug = path.name
    toml_path = path / "lab.toml"
    if not SLUG_RE.match(slug):
        raise LabFormatError(path, "slug", "folder name must be lower-case letters, digits, '-'")
    if not toml_path.is_file():
        raise LabFormatError(toml_path, "lab.toml", "is missing")
    try:
        data = tomllib.loads(toml_path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise LabFormatError(toml_path, "lab.toml", f"is not valid TOML: {exc}") from None

    top = _Fields(toml_path, data)
    top.reject_unknown(
        {
            "title",
            "summary",
            "skills",
            "difficulty",
            "minutes",
            "submit",
            "grader",
            "limits",
            "attempts",
            "starter",
            "variants",
            "gradescope",
        }
    )
    difficulty = top.text("difficulty")
    if difficulty not in DIFFICULTIES:
        raise top._fail("difficulty", f"must be one of {', '.join(DIFFICULTIES)}")
    submit = top.strings("submit", pattern=SUBMIT_NAME_RE)
    if not submit:
        raise top._fail("submit", "must name at least one file")

    grader = top.table_of("grader")
    grader.reject_unknown(
        {"image", "command", "runtime", "seeded", "check_seed", "include", "partial_on_timeout"}
    )
    runtime = grader.text("runtime", None)
    if runtime is not None and runtime not in RUNTIMES:
        raise grader._fail("runtime", f"must be one of {', '.join(RUNTIMES)}")
    command = grader.strings("command", ["python3", "check.py"])
    if not command:
        raise grader._fail("command", "must not be empty")
    image = grader.text("image", "python", max_len=200)
    autograder = _gradescope(top, grader, path) if "gradescope" in data else None
    if autograder is not None:
        image, command = autograder.image, GRADESCOPE_COMMAND
    elif ":" not in image:  # a family of this checkout, not a pinned tag
        try:
            graders.images.family(image)
        except ValueError as exc:
            raise grader._fail("image", str(exc)) from None

    limits = top.table_of("limits")
    limits.reject_unknown({"timeout_s", "memory_mb", "cpus", "pids", "scratch_mb", "upload_kb"})
    attempts = top.table_of("attempts")
    attempts.reject_unknown({"per_hour"})

    for part in ("starter", "solution", "grader"):
        if not (path / part).is_dir():
            raise LabFormatError(path / part, part, "folder is missing")
    for part in ("starter", "solution"):
        for name in submit:
            if not (path / part / name).is_file():
                raise LabFormatError(path / part / name, "submit", f"{part}/ must contain {name}")
    if (
        autograder is None
        and len(command) > 1
        and command[0].startswith("python")
        and (command[1].endswith(".py"))
    ):
        if not (path / "grader" / command[1]).is_file():
            raise LabFormatError(path / "grader" / command[1], "grader.command", "file is missing")

    readme = path / "README.md"
    if not readme.is_file():
        raise LabFormatError(readme, "README.md", "is missing")

    starter = _expectation(top.table_of("starter"), "starter", (0.0, 0.0))
    variants_table = top.get("variants", dict, {})
    variants = []
    variants_dir = path / "variants"
    on_disk = (
        {p.name for p in variants_dir.iterdir() if p.is_dir()} if variants_dir.is_dir() else set()
    )
    for name in sorted(variants_table):
        if name not in on_disk:
            raise LabFormatError(variants_dir / name, f"variants.{name}", "folder is missing")
        if not isinstance(variants_table[name], dict):
            raise top._fail(f"variants.{name}", "must be a table")
        sub = _Fields(toml_path, variants_table[name], f"variants.{name}.")
        base = sub.text("base")
        if base not in BASES:
            raise sub._fail("base", f"must be one of {', '.join(BASES)}, not {base!r}")
        variant = _expectation(sub, name, None, base)
        _variant_files_problem(path, variant, submit)
        variants.append(variant)
    for name in sorted(on_disk - set(variants_table)):
        raise LabFormatError(variants_dir / name, f"variants.{name}", "is not declared in lab.toml")

    return LabSpec(
        slug=slug,
        path=path,
        title=top.text("title", max_len=120),
        summary=top.text("summary", max_len=500),
        skills=top.strings("skills", []),
        difficulty=difficulty,
        minutes=top.number("minutes", low=1, high=600),
        submit=submit,
        image=image,
        command=command,
        runtime=runtime,
        seeded=grader.get("seeded", bool, False),
        check_seed=grader.number("check_seed", 1, low=0, high=2**31 - 1),
        partial_on_timeout=grader.get("partial_on_timeout", bool, True),
        timeout_s=limits.number("timeout_s", 30, low=1, high=MAX_TIMEOUT_S),
        memory_mb=limits.number("memory_mb", 512, low=32, high=16384),
        cpus=float(limits.number("cpus", 1, low=0.1, high=16, integer=False)),
        pids=limits.number("pids", 128, low=8, high=4096),
        scratch_mb=limits.number("scratch_mb", None, low=1, high=4096),
        upload_kb=limits.number("upload_kb", 256, low=1, high=10240),
        attempts_per_hour=attempts.number("per_hour", None, low=1, high=1000),
        instructions=readme.read_text(encoding="utf-8"),
        starter=starter,
        variants=tuple(variants),
        content_hash=tree_hash(path),
        include=_include(grader, path),
        **(autograder.fields() if autograder else {}),
    )


@dataclass(frozen=True)
class _Autograder:
    image: str
    zip_sha256: str
    build_timeout_s: int

    def fields(self) -> dict:
        return {
            "dialect": GRADESCOPE,
            "zip_sha256": self.zip_sha256,
            "build_timeout_s": self.build_timeout_s,
        }


def _gradescope(top: _Fields, grader: _Fields, path: Path) -> _Autograder:
    """`[gradescope]`: the lab runs the unmodified autograder in grader/, in its own image
    (named by its content), so `[grader]` may only choose the runtime and partial credit."""
    table = top.table_of("gradescope")
    table.reject_unknown({"zip_sha256", "build_timeout_s"})
    for key in ("image", "command", "include", "seeded", "check_seed"):
        if key in grader.table:
            raise grader._fail(key, "does not apply to a Gradescope autograder (see [gradescope])")
    zip_sha256 = table.text("zip_sha256")
    if not ZIP_SHA256_RE.match(zip_sha256):
        raise table._fail("zip_sha256", "must be 64 lower-case hex digits")
    for name in GRADESCOPE_FILES:
        if not (path / "grader" / name).is_file():
            raise LabFormatError(path / "grader" / name, "gradescope", "file is missing")
    try:
        image = gradescope_images.autograder_tag(path / "grader", gradescope_images.base_name())
    except gradescope_images.AutograderBuildError as exc:
        raise LabFormatError(path / "grader", "gradescope", str(exc)) from None
    timeout = table.number("build_timeout_s", DEFAULT_BUILD_TIMEOUT_S, low=30, high=3600)
    return _Autograder(image, zip_sha256, timeout)


def discover_labs(root: Path) -> list[Path]:
    """Lab folders under root: every direct child that is a directory, sorted."""
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
