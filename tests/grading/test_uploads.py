"""Upload parsing: every bad upload is refused with a message that names the problem."""

import io
import stat
import warnings
import zipfile

import pytest

from grading.uploads import SubmissionRejected, UploadRules, check_files, files_from_zip

RULES = UploadRules(allowed=("main.py", "notes.md"), max_file_bytes=1000, max_total_bytes=1500)
GOOD = {"main.py": b"print(1)\n", "notes.md": b"# notes\n"}


def make_zip(entries) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        warnings.simplefilter("ignore")  # duplicate names are one of the cases built here
        for name, data, *mode in entries:
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            if mode:
                info.external_attr = mode[0] << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def test_loose_files_pass():
    assert check_files(dict(GOOD), RULES) == GOOD


def test_zip_with_the_files_passes():
    assert files_from_zip(make_zip([(n, d) for n, d in GOOD.items()]), RULES) == GOOD


def test_zip_with_one_top_folder_like_the_starter_zip_passes():
    data = make_zip([(f"lab/{n}", d) for n, d in GOOD.items()] + [("lab/", b"")])
    assert files_from_zip(data, RULES) == GOOD


BAD_ZIPS = {
    "not a zip": (b"this is not a zip", "not a valid zip file"),
    "absolute path": (make_zip([("/etc/main.py", b"x")]), "is an absolute path"),
    "windows absolute": (make_zip([("C:/main.py", b"x")]), "is an absolute path"),
    "zip slip": (make_zip([("../main.py", b"x")]), "climbs out of its folder"),
    "nested slip": (make_zip([("a/../../main.py", b"x")]), "climbs out of its folder"),
    "symlink": (
        make_zip([("main.py", b"/etc/passwd", stat.S_IFLNK | 0o777)]),
        "is a symbolic link",
    ),
    "duplicate": (make_zip([("main.py", b"a"), ("main.py", b"b")]), "holds main.py twice"),
    "unknown name": (make_zip([("evil.sh", b"x")]), "which this lab does not take"),
    "zip bomb ratio": (make_zip([("main.py", b"a" * 900_000)]), "expands"),
    "too many entries": (
        make_zip([(f"f{i}.txt", b"x") for i in range(100)]),
        "holds 100 entries",
    ),
    "missing file": (make_zip([("main.py", b"x")]), "Missing file: notes.md"),
    "empty file": (make_zip([("main.py", b""), ("notes.md", b"x")]), "main.py is empty"),
    "not utf-8 text": (make_zip([("main.py", b"\xff\xfe"), ("notes.md", b"x")]), "not UTF-8"),
}


@pytest.mark.parametrize("case", sorted(BAD_ZIPS))
def test_bad_zip_is_rejected_with_a_precise_message(case):
    data, message = BAD_ZIPS[case]
    with pytest.raises(SubmissionRejected, match=message):
        files_from_zip(data, RULES)


def test_zip_name_that_is_not_utf8_is_rejected():
    data = bytearray(make_zip([("main\u00e9.py", b"x")]))
    # Clear the UTF-8 flag (bit 11) in the local and central headers: the name is then
    # read as CP437 bytes that are not plain ASCII.
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.find(signature)
        flags = int.from_bytes(data[at + offset : at + offset + 2], "little") & ~0x800
        data[at + offset : at + offset + 2] = flags.to_bytes(2, "little")
    with pytest.raises(SubmissionRejected, match="not valid UTF-8"):
        files_from_zip(bytes(data), RULES)


def test_member_whose_header_lies_about_its_size_is_stopped_while_reading():
    data = bytearray(make_zip([("main.py", b"a" * 5000), ("notes.md", b"x")]))
    # Rewrite both headers to claim 10 bytes; the real content is still 5000.
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.find(signature)
        data[at + offset : at + offset + 4] = (10).to_bytes(4, "little")
    with pytest.raises(SubmissionRejected, match="main.py"):
        files_from_zip(bytes(data), RULES)


def test_total_size_over_the_lab_limit_is_rejected():
    files = {"main.py": b"x" * 900, "notes.md": b"y" * 900}
    with pytest.raises(SubmissionRejected, match="add up to 1,800 bytes"):
        check_files(files, RULES)
