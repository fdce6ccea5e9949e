"""Turning an upload (separate files or one zip) into {name: bytes}, or a precise refusal.

Nothing here trusts what an archive says about itself: names are checked one by one,
sizes are counted while reading, and reading stops at the first limit crossed.
"""

import io
import lzma
import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import PurePosixPath

MAX_ZIP_ENTRIES = 64
# A zip member may expand at most this many times its compressed size.
MAX_RATIO = 100
CHUNK = 64 * 1024


class SubmissionRejected(Exception):
    """A submission that will not be queued; the message says exactly what was wrong."""


@dataclass(frozen=True)
class UploadRules:
    allowed: tuple[str, ...]
    max_file_bytes: int
    max_total_bytes: int


def check_files(files: dict[str, bytes], rules: UploadRules) -> dict[str, bytes]:
    """Validate loose files: allowed names only, all present, none empty or too big."""
    unknown = sorted(set(files) - set(rules.allowed))
    if unknown:
        raise SubmissionRejected(
            f"This lab does not take {', '.join(unknown)}; it takes {', '.join(rules.allowed)}."
        )
    missing = [name for name in rules.allowed if name not in files]
    if missing:
        raise SubmissionRejected(f"Missing file: {', '.join(missing)}.")
    for name, data in files.items():
        if not data:
            raise SubmissionRejected(f"{name} is empty.")
        if len(data) > rules.max_file_bytes:
            raise SubmissionRejected(
                f"{name} is {len(data):,} bytes; "
                f"files may be at most {rules.max_file_bytes:,} bytes."
            )
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SubmissionRejected(
                f"{name} is not UTF-8 text (byte {exc.start} cannot be decoded)."
            ) from None
    total = sum(len(d) for d in files.values())
    if total > rules.max_total_bytes:
        raise SubmissionRejected(
            f"The files add up to {total:,} bytes; a submission may be at most "
            f"{rules.max_total_bytes:,}."
        )
    return files


def files_from_zip(data: bytes, rules: UploadRules) -> dict[str, bytes]:
    """The lab's files from a zip; one top-level folder (as in the starter zip) is allowed."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except UnicodeDecodeError:  # a name flagged as UTF-8 that is not
        raise SubmissionRejected("A file name in the zip is not valid UTF-8.") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, NotImplementedError):
        # NotImplementedError: a header claims a zip version Python cannot read.
        raise SubmissionRejected("The upload is not a valid zip file.") from None
    if len(infos) > MAX_ZIP_ENTRIES:
        raise SubmissionRejected(
            f"The zip holds {len(infos)} entries; at most {MAX_ZIP_ENTRIES} are allowed."
        )
    members = []
    for info in infos:
        name = _member_name(info)
        if info.is_dir():
            continue
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise SubmissionRejected(f"{name} is a symbolic link; links are not accepted.")
        # Some tools store only permission bits; a stated file type must be "regular".
        if stat.S_IFMT(mode) and not stat.S_ISREG(mode):
            raise SubmissionRejected(f"{name} is not a regular file.")
        members.append((name, info))

    prefix = _common_folder([name for name, _ in members])
    files: dict[str, bytes] = {}
    total = 0
    for name, info in members:
        short = name[len(prefix) :] if prefix else name
        if short in files:
            raise SubmissionRejected(f"The zip holds {short} twice.")
        if short not in rules.allowed:
            raise SubmissionRejected(
                f"The zip holds {name}, which this lab does not take; it takes "
                f"{', '.join(rules.allowed)}."
            )
        content = _read_capped(archive, info, name, rules, already=total)
        total += len(content)
        files[short] = content
    return check_files(files, rules)


def _member_name(info: zipfile.ZipInfo) -> str:
    raw = info.filename
    if not raw:  # zipfile cuts names at NUL, so "\0..." arrives empty
        raise SubmissionRejected("A file in the zip has no name (or one starting with NUL).")
    # Without the UTF-8 flag, Python decodes names as CP437; only plain ASCII is safe then.
    if not info.flag_bits & 0x800 and not raw.isascii():
        raise SubmissionRejected(f"A file name in the zip is not valid UTF-8: {raw!r}.")
    path = PurePosixPath(raw)
    if "\\" in raw:
        raise SubmissionRejected(f"{raw} uses backslashes; zip paths separate folders with '/'.")
    if raw.startswith("/") or (len(raw) > 1 and raw[1] == ":"):
        raise SubmissionRejected(f"{raw} is an absolute path; use names relative to the zip.")
    if ".." in path.parts:
        raise SubmissionRejected(f"{raw} climbs out of its folder with '..'.")
    if "\0" in raw:
        raise SubmissionRejected("A file name in the zip contains a NUL byte.")
    return raw


def _common_folder(names: list[str]) -> str:
    tops = {PurePosixPath(n).parts[0] for n in names if len(PurePosixPath(n).parts) > 1}
    if len(tops) == 1 and all(len(PurePosixPath(n).parts) > 1 for n in names):
        return tops.pop() + "/"
    return ""


def _read_capped(archive, info, name: str, rules: UploadRules, *, already: int) -> bytes:
    if info.compress_size and info.file_size / info.compress_size > MAX_RATIO:
        raise SubmissionRejected(
            f"{name} expands {info.file_size // info.compress_size}x when unpacked; "
            f"that looks like a zip bomb (at most {MAX_RATIO}x is accepted)."
        )
    if info.file_size > rules.max_file_bytes:
        raise SubmissionRejected(
            f"{name} unpacks to {info.file_size:,} bytes; files may be at most "
            f"{rules.max_file_bytes:,} bytes."
        )
    out = bytearray()
    try:
        with archive.open(info) as stream:
            while chunk := stream.read(CHUNK):
                out += chunk
                # The header's sizes may lie: count what really comes out.
                if len(out) > rules.max_file_bytes:
                    raise SubmissionRejected(
                        f"{name} unpacks to more than the allowed size; "
                        f"files may be at most {rules.max_file_bytes:,} bytes."
                    )
                if already + len(out) > rules.max_total_bytes:
                    raise SubmissionRejected(
                        f"The files add up to more than {rules.max_total_bytes:,} bytes once "
                        f"unpacked; a submission may be at most {rules.max_total_bytes:,}."
                    )
    except (
        zipfile.BadZipFile,
        EOFError,
        ValueError,
        NotImplementedError,
        RuntimeError,
        OSError,  # bz2: invalid data stream
        zlib.error,
        lzma.LZMAError,
    ) as exc:
        raise SubmissionRejected(f"{name} cannot be unpacked: {exc}.") from None
    return bytes(out)
