"""Unpacking an instructor's Gradescope autograder zip into a folder, or a precise refusal.

A Gradescope autograder is a zip with ``setup.sh`` and ``run_autograder`` at its root.
Importing one runs its code at build time, but the archive itself is still untrusted
input: `extract_autograder` checks every entry before writing anything (names, file
types, encryption, duplicates, entry count, declared sizes), counts the bytes it really
writes (a zip's headers may lie), and builds the folder beside its destination so that
the destination appears only once everything succeeded.

What macOS's Finder adds (``__MACOSX/``, ``.DS_Store``) is left out. Modes are not
copied blindly: regular files become 0644, or 0755 when the zip marks any
execute bit; folders become 0755; setuid, setgid and sticky bits are never restored.
"""

from __future__ import annotations

import hashlib
import lzma
import os
import shutil
import stat
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

# The two files Gradescope requires at the root of an autograder zip.
REQUIRED_FILES = ("setup.sh", "run_autograder")

# Caps on what one autograder may unpack to; generous for test suites with data files,
# far below what would fill a disk.
MAX_TOTAL_BYTES = 200 * 1024 * 1024
MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_ENTRIES = 5000

CHUNK = 64 * 1024
FILE_MODE = 0o644
EXEC_MODE = 0o755
DIR_MODE = 0o755
# Bit 0 of a zip entry's general-purpose flags: the entry is encrypted.
ENCRYPTED_FLAG = 0x1
# Bit 11: the entry's name is UTF-8 (otherwise zipfile decodes it as CP437).
UTF8_FLAG = 0x800


class AutograderZipError(ValueError):
    """An autograder zip that will not be unpacked; the message names the entry and why.

    `strippable_folder` is set when the required files sit inside one top-level folder,
    so that a caller can offer to extract with that folder stripped.
    """

    def __init__(self, message: str, *, strippable_folder: str | None = None):
        super().__init__(message)
        self.strippable_folder = strippable_folder


@dataclass(frozen=True)
class ZipLimits:
    """How much one zip may unpack to: in all, per file, and in number of entries."""

    max_total_bytes: int = MAX_TOTAL_BYTES
    max_file_bytes: int = MAX_FILE_BYTES
    max_entries: int = MAX_ENTRIES


LIMITS = ZipLimits()


@dataclass(frozen=True)
class Extracted:
    """What `extract_autograder` wrote: the zip's sha256, the files (relative POSIX paths,
    sorted) and the top-level folder that was stripped, if any."""

    sha256: str
    files: tuple[str, ...]
    stripped_folder: str | None


@dataclass(frozen=True)
class _Entry:
    """One checked zip entry: where it goes (relative parts) and how."""

    info: zipfile.ZipInfo
    parts: tuple[str, ...]
    is_dir: bool
    executable: bool


def extract_autograder(
    zip_path: Path,
    dest: Path,
    *,
    strip_top_folder: bool = False,
    limits: ZipLimits = LIMITS,
) -> Extracted:
    """Unpack the autograder at `zip_path` into `dest`, which must not exist or be empty.

    Raises AutograderZipError, leaving `dest` as it was, for a hostile or malformed zip
    or one without setup.sh and run_autograder at its root (after stripping its single
    top-level folder, when `strip_top_folder` is set). Safe to run twice: a second run
    finds `dest` full and refuses.
    """
    _check_destination(dest)
    digest = _sha256(zip_path)
    with _open_zip(zip_path) as archive:
        entries = _checked_entries(archive.infolist(), limits)
        stripped = _top_folder(entries) if strip_top_folder else None
        if strip_top_folder and stripped is None:
            raise AutograderZipError(
                "Stripping the top-level folder was asked for, but the zip does not hold "
                "exactly one top-level folder with everything inside it."
            )
        if stripped is not None:
            entries = [_strip(entry) for entry in entries if len(entry.parts) > 1]
        _check_required_files(entries)
        files = _write_atomically(archive, entries, dest, limits)
    return Extracted(sha256=digest, files=files, stripped_folder=stripped)


def _check_destination(dest: Path) -> None:
    if dest.is_symlink() or (dest.exists() and not dest.is_dir()):
        raise AutograderZipError(f"{dest} exists and is not a folder; choose another place.")
    if dest.is_dir() and any(dest.iterdir()):
        raise AutograderZipError(f"{dest} is not empty; choose a new or empty folder.")


def _sha256(zip_path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with zip_path.open("rb") as stream:
            while chunk := stream.read(CHUNK):
                digest.update(chunk)
    except OSError as exc:
        raise AutograderZipError(f"{zip_path} cannot be read: {exc.strerror}.") from None
    return digest.hexdigest()


def _open_zip(zip_path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(zip_path)
    except UnicodeDecodeError:  # a name flagged as UTF-8 that is not
        raise AutograderZipError("A file name in the zip is not valid UTF-8.") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, NotImplementedError):
        # NotImplementedError: a header claims a zip version Python cannot read.
        raise AutograderZipError(f"{zip_path.name} is not a valid zip file.") from None


def _checked_entries(infos: list[zipfile.ZipInfo], limits: ZipLimits) -> list[_Entry]:
    """Every entry checked before anything is written: the whole zip passes, or none of it."""
    if len(infos) > limits.max_entries:
        raise AutograderZipError(
            f"The zip holds {len(infos):,} entries; at most {limits.max_entries:,} are allowed."
        )
    entries = [_checked_entry(info, limits) for info in infos]
    entries = [entry for entry in entries if not _finder_litter(entry.parts)]
    _check_unique(entries)
    declared = sum(entry.info.file_size for entry in entries)
    if declared > limits.max_total_bytes:
        raise AutograderZipError(
            f"The zip unpacks to {declared:,} bytes; an autograder may be at most "
            f"{limits.max_total_bytes:,} bytes."
        )
    return entries


def _checked_entry(info: zipfile.ZipInfo, limits: ZipLimits) -> _Entry:
    name = info.filename
    parts = _safe_parts(info)
    mode = info.external_attr >> 16
    kind = stat.S_IFMT(mode)
    if stat.S_ISLNK(mode):
        raise AutograderZipError(f"{name} is a symbolic link; links are not accepted.")
    # Zips made on Windows store no file type; a stated type must be a file or a folder.
    if kind and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise AutograderZipError(
            f"{name} is not a regular file or folder (a device, FIFO or socket)."
        )
    is_dir = name.endswith("/") or stat.S_ISDIR(mode)
    if info.flag_bits & ENCRYPTED_FLAG:
        raise AutograderZipError(f"{name} is encrypted; upload a zip without a password.")
    if not is_dir and info.file_size > limits.max_file_bytes:
        raise AutograderZipError(
            f"{name} unpacks to {info.file_size:,} bytes; files may be at most "
            f"{limits.max_file_bytes:,} bytes."
        )
    if not parts and not is_dir:
        raise AutograderZipError(f"{name!r} is not a usable file name.")
    return _Entry(info=info, parts=parts, is_dir=is_dir, executable=bool(mode & 0o111))


def _finder_litter(parts: tuple[str, ...]) -> bool:
    """What macOS's Finder adds to a zip it makes (resource forks under __MACOSX/, and
    .DS_Store files): never part of an autograder, and left out, so that a zip of one
    folder still has that folder alone at its top."""
    return bool(parts) and (parts[0] == "__MACOSX" or parts[-1] == ".DS_Store")


def _safe_parts(info: zipfile.ZipInfo) -> tuple[str, ...]:
    """The entry's path as relative parts, '.' and empty parts dropped; or a refusal."""
    raw = info.filename
    if not raw:  # zipfile cuts names at NUL, so "\0..." arrives empty
        raise AutograderZipError("An entry in the zip has no name (or one starting with NUL).")
    # Without the UTF-8 flag, Python decodes names as CP437; only plain ASCII is safe then.
    if not info.flag_bits & UTF8_FLAG and not raw.isascii():
        raise AutograderZipError(f"A file name in the zip is not valid UTF-8: {raw!r}.")
    if "\\" in raw:
        raise AutograderZipError(f"{raw} uses backslashes; zip paths separate folders with '/'.")
    if raw.startswith("/"):
        raise AutograderZipError(f"{raw} is an absolute path; use names relative to the zip.")
    if len(raw) > 1 and raw[0].isalpha() and raw[1] == ":":
        raise AutograderZipError(f"{raw} starts with a drive letter; use relative names.")
    parts = PurePosixPath(raw).parts
    if ".." in parts:
        raise AutograderZipError(f"{raw} climbs out of its folder with '..'.")
    return tuple(part for part in parts if part != ".")


def _check_unique(entries: list[_Entry]) -> None:
    """No two entries land on one path, and no file is also a folder of another entry."""
    seen: dict[tuple[str, ...], str] = {}
    for entry in entries:
        if not entry.parts:
            continue  # "./": the root itself
        if entry.parts in seen:
            raise AutograderZipError(
                f"The zip holds {'/'.join(entry.parts)} twice "
                f"(as {seen[entry.parts]} and {entry.info.filename})."
            )
        seen[entry.parts] = entry.info.filename
    files = {entry.parts for entry in entries if not entry.is_dir}
    for entry in entries:
        for depth in range(1, len(entry.parts)):
            if entry.parts[:depth] in files:
                raise AutograderZipError(
                    f"{'/'.join(entry.parts[:depth])} is both a file and a folder "
                    f"(the folder of {entry.info.filename})."
                )


def _top_folder(entries: list[_Entry]) -> str | None:
    """The single top-level folder that holds every file, if there is one."""
    tops = {entry.parts[0] for entry in entries if entry.parts}
    files = [entry for entry in entries if not entry.is_dir]
    if len(tops) != 1 or not files or any(len(entry.parts) < 2 for entry in files):
        return None
    return tops.pop()


def _strip(entry: _Entry) -> _Entry:
    return _Entry(
        info=entry.info, parts=entry.parts[1:], is_dir=entry.is_dir, executable=entry.executable
    )


def _check_required_files(entries: list[_Entry]) -> None:
    root_files = {entry.parts[0] for entry in entries if len(entry.parts) == 1 and not entry.is_dir}
    missing = [name for name in REQUIRED_FILES if name not in root_files]
    if not missing:
        return
    message = (
        f"The zip has no {' and no '.join(missing)} at its root; a Gradescope autograder "
        f"needs {' and '.join(REQUIRED_FILES)} there."
    )
    top = _top_folder(entries)
    inside = {entry.parts[1:] for entry in entries if not entry.is_dir}
    if top is not None and all((name,) in inside for name in REQUIRED_FILES):
        raise AutograderZipError(
            f"{message} They are inside its single top-level folder {top}/: "
            f"extract it with that folder stripped.",
            strippable_folder=top,
        )
    raise AutograderZipError(message)


def _write_atomically(
    archive: zipfile.ZipFile, entries: list[_Entry], dest: Path, limits: ZipLimits
) -> tuple[str, ...]:
    """Write the entries into a sibling temporary folder, then rename it onto `dest`.

    rename(2) replaces an empty folder atomically, so `dest` is either untouched or
    complete; the temporary folder is removed whatever happens.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".partial", dir=dest.parent))
    try:
        files = _write_entries(archive, entries, staging, limits)
        staging.chmod(DIR_MODE)
        try:
            staging.rename(dest)
        except OSError as exc:  # dest filled or replaced meanwhile
            raise AutograderZipError(f"{dest} cannot be created: {exc.strerror}.") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return files


def _write_entries(
    archive: zipfile.ZipFile, entries: list[_Entry], root: Path, limits: ZipLimits
) -> tuple[str, ...]:
    written = 0
    files = []
    for entry in entries:
        try:
            if entry.is_dir:
                _make_folders(root, entry.parts)
                continue
            _make_folders(root, entry.parts[:-1])
            budget = min(limits.max_file_bytes, limits.max_total_bytes - written)
            written += _write_file(archive, entry, root.joinpath(*entry.parts), budget, limits)
        except OSError as exc:  # a name the file system refuses, or bz2's invalid data
            # strerror leaves out the staging folder's path, which means nothing to the reader.
            reason = exc.strerror or str(exc)
            raise AutograderZipError(
                f"{entry.info.filename} cannot be unpacked: {reason}."
            ) from None
        files.append("/".join(entry.parts))
    return tuple(sorted(files))


def _make_folders(root: Path, parts: tuple[str, ...]) -> None:
    """Create each folder on the way down as a real folder with mode 0755 (not the umask's)."""
    path = root
    for part in parts:
        path = path / part
        try:
            path.mkdir(mode=DIR_MODE)
        except FileExistsError:
            continue
        path.chmod(DIR_MODE)


class CapExceeded(Exception):
    """More bytes came out of a stream than its budget allowed."""


def _write_file(
    archive: zipfile.ZipFile, entry: _Entry, target: Path, budget: int, limits: ZipLimits
) -> int:
    """Copy one entry to a new file (never through a link); the bytes written."""
    name = entry.info.filename
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    try:
        with archive.open(entry.info) as source, open(os.open(target, flags, 0o600), "wb") as out:
            size = copy_capped(source, out, budget=budget)
    except CapExceeded:
        raise AutograderZipError(
            f"{name} unpacks to more bytes than the zip declares for it and past the cap "
            f"(files at most {limits.max_file_bytes:,} bytes, {limits.max_total_bytes:,} "
            f"in all); the zip's headers are false."
        ) from None
    except (
        zipfile.BadZipFile,
        EOFError,
        ValueError,
        NotImplementedError,
        RuntimeError,
        zlib.error,
        lzma.LZMAError,
    ) as exc:
        raise AutograderZipError(f"{name} cannot be unpacked: {exc}.") from None
    target.chmod(EXEC_MODE if entry.executable else FILE_MODE)
    return size


def copy_capped(source: IO[bytes], out: IO[bytes], *, budget: int) -> int:
    """Copy `source` to `out` chunk by chunk; raise CapExceeded past `budget` bytes.

    The count is of bytes really read, whatever the zip's headers declared.
    """
    copied = 0
    while chunk := source.read(CHUNK):
        copied += len(chunk)
        if copied > budget:
            raise CapExceeded
        out.write(chunk)
    return copied
