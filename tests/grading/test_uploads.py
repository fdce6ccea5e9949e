"""Upload parsing: every bad upload is refused with a message that names the problem."""

import copy
import dataclasses
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


def lying_zip(real: bytes, claimed: int) -> bytes:
    """main.py holding `real`, its local and central headers claiming `claimed` bytes."""
    data = bytearray(make_zip([("main.py", real), ("notes.md", b"x")]))
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.find(signature)
        data[at + offset : at + offset + 4] = claimed.to_bytes(4, "little")
    return bytes(data)


def believe_the_data_stream(monkeypatch) -> None:
    """Make zipfile unpack a member's whole data stream, whatever its header says.

    CPython's zipfile stops at the header's size by itself (a lie then ends in a CRC
    error), so the parser's own count while reading is only reached with a reader that
    trusts the stream; this is that reader, faked at the one seam: opening a member.
    """
    real_open = zipfile.ZipFile.open

    def open_whole_stream(self, name, *args, **kwargs):
        info = copy.copy(name if isinstance(name, zipfile.ZipInfo) else self.getinfo(name))
        info.file_size = 1 << 40  # read until the compressed stream ends
        return real_open(self, info, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", open_whole_stream)


def test_member_whose_header_lies_about_its_size_is_stopped_while_reading(monkeypatch):
    believe_the_data_stream(monkeypatch)
    with pytest.raises(SubmissionRejected) as caught:
        files_from_zip(lying_zip(b"a" * 5000, claimed=10), RULES)
    assert str(caught.value) == (
        "main.py unpacks to more than the allowed size; files may be at most 1,000 bytes."
    )


def test_a_lying_header_is_read_to_the_real_size_limit_exactly(monkeypatch):
    believe_the_data_stream(monkeypatch)
    real = bytes(range(32, 127)) * 10 + b"!" * 50  # 1000 bytes
    assert files_from_zip(lying_zip(real, claimed=10), RULES)["main.py"] == real
    with pytest.raises(SubmissionRejected, match="unpacks to more than the allowed size"):
        files_from_zip(lying_zip(real + b"!", claimed=10), RULES)


def test_with_the_standard_reader_a_lying_header_ends_in_a_crc_refusal():
    with pytest.raises(SubmissionRejected) as caught:
        files_from_zip(lying_zip(b"a" * 5000, claimed=10), RULES)
    assert str(caught.value) == "main.py cannot be unpacked: Bad CRC-32 for file 'main.py'."


def test_total_size_over_the_lab_limit_is_rejected():
    files = {"main.py": b"x" * 900, "notes.md": b"y" * 900}
    with pytest.raises(SubmissionRejected, match="add up to 1,800 bytes"):
        check_files(files, RULES)


def text(size: int) -> bytes:
    """Printable bytes that compress poorly enough to stay far from the zip bomb ratio."""
    return (bytes(range(33, 127)) * (size // 94 + 1))[:size]


def test_a_loose_file_the_lab_does_not_take_is_refused_naming_it():
    with pytest.raises(SubmissionRejected) as caught:
        check_files({**GOOD, "run.sh": b"rm -rf /\n", "a.txt": b"x"}, RULES)
    assert str(caught.value) == (
        "This lab does not take a.txt, run.sh; it takes main.py, notes.md."
    )


def test_a_loose_file_of_exactly_the_size_limit_passes_and_one_byte_more_is_refused():
    assert check_files({"main.py": text(1000), "notes.md": b"n"}, RULES)["main.py"] == text(1000)
    with pytest.raises(SubmissionRejected) as caught:
        check_files({"main.py": text(1001), "notes.md": b"n"}, RULES)
    assert str(caught.value) == "main.py is 1,001 bytes; files may be at most 1,000 bytes."


def test_loose_files_of_exactly_the_total_limit_pass_and_one_byte_more_is_refused():
    assert check_files({"main.py": text(1000), "notes.md": text(500)}, RULES)
    with pytest.raises(SubmissionRejected) as caught:
        check_files({"main.py": text(1000), "notes.md": text(501)}, RULES)
    assert str(caught.value) == (
        "The files add up to 1,501 bytes; a submission may be at most 1,500."
    )


def test_a_zip_member_of_exactly_the_size_limit_passes_and_one_byte_more_is_refused():
    exact = make_zip([("main.py", text(1000)), ("notes.md", b"n")])
    assert files_from_zip(exact, RULES)["main.py"] == text(1000)
    with pytest.raises(SubmissionRejected) as caught:
        files_from_zip(make_zip([("main.py", text(1001)), ("notes.md", b"n")]), RULES)
    assert str(caught.value) == (
        "main.py unpacks to 1,001 bytes; files may be at most 1,000 bytes."
    )


def test_a_zip_of_exactly_the_total_limit_passes_and_one_byte_more_is_refused():
    exact = make_zip([("main.py", text(1000)), ("notes.md", text(500))])
    assert files_from_zip(exact, RULES) == {"main.py": text(1000), "notes.md": text(500)}
    with pytest.raises(SubmissionRejected) as caught:
        files_from_zip(make_zip([("main.py", text(1000)), ("notes.md", text(501))]), RULES)
    assert str(caught.value) == (
        "The files add up to more than 1,500 bytes once unpacked; "
        "a submission may be at most 1,500."
    )


def ratio(data: bytes) -> float:
    """How many times its deflated size `data` is, as the zip's header states it."""
    with zipfile.ZipFile(io.BytesIO(make_zip([("main.py", data)]))) as archive:
        info = archive.getinfo("main.py")
    return info.file_size / info.compress_size


def test_a_member_expanding_exactly_the_accepted_ratio_passes_and_more_is_refused():
    # A run of one letter that deflates to exactly a hundredth of its size, found rather
    # than hard-coded so that another zlib build cannot make the test vacuous.
    size = next(n for n in range(1000, 3000) if ratio(b"a" * n) == 100)
    assert 100 < ratio(b"a" * (size + 1)) < 101
    rules = UploadRules(allowed=("main.py",), max_file_bytes=10_000, max_total_bytes=10_000)
    exact = b"a" * size
    assert files_from_zip(make_zip([("main.py", exact)]), rules) == {"main.py": exact}
    with pytest.raises(SubmissionRejected) as caught:
        files_from_zip(make_zip([("main.py", exact + b"a")]), rules)
    assert str(caught.value) == (
        "main.py expands 100x when unpacked; that looks like a zip bomb (at most 100x is accepted)."
    )


def test_a_zip_of_exactly_the_entry_limit_passes():
    folders = [(f"lab/d{i}/", b"") for i in range(62)]
    files = [(f"lab/{name}", data) for name, data in GOOD.items()]
    assert files_from_zip(make_zip(folders + files), RULES) == GOOD
    with pytest.raises(SubmissionRejected) as caught:
        files_from_zip(make_zip([*folders, ("lab/d62/", b""), *files]), RULES)
    assert str(caught.value) == "The zip holds 65 entries; at most 64 are allowed."


def test_members_stated_as_regular_files_pass():
    regular = stat.S_IFREG | 0o644
    assert files_from_zip(make_zip([(n, d, regular) for n, d in GOOD.items()]), RULES) == GOOD


def test_a_utf8_flagged_name_beyond_ascii_is_accepted():
    rules = UploadRules(allowed=("café.py",), max_file_bytes=100, max_total_bytes=100)
    assert files_from_zip(make_zip([("café.py", b"x")]), rules) == {"café.py": b"x"}


def test_a_name_beyond_ascii_without_the_utf8_flag_is_refused_whatever_else_is_flagged():
    data = bytearray(make_zip([("main\u00e9.py", b"x")]))
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.find(signature)
        flags = int.from_bytes(data[at + offset : at + offset + 2], "little") & ~0x800 | 0x1
        data[at + offset : at + offset + 2] = flags.to_bytes(2, "little")
    with pytest.raises(SubmissionRejected, match="A file name in the zip is not valid UTF-8"):
        files_from_zip(bytes(data), RULES)


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (["a"], "The zip holds a, which this lab does not take; it takes main.py, notes.md."),
        (["C:"], "C: is an absolute path; use names relative to the zip."),
        # Only one folder around every file is taken off, as the starter zip has it.
        (["lab/main.py", "notes.md"], "The zip holds lab/main.py, which this lab does not take"),
        (["a/main.py", "b/notes.md"], "The zip holds a/main.py, which this lab does not take"),
        (["lab/x/main.py", "lab/x/notes.md"], "The zip holds lab/x/main.py, which this lab"),
    ],
)
def test_names_are_taken_as_they_are_but_for_one_shared_folder(names, message):
    with pytest.raises(SubmissionRejected) as caught:
        files_from_zip(make_zip([(name, b"x") for name in names]), RULES)
    assert str(caught.value).startswith(message)


def test_upload_rules_cannot_be_changed_once_made():
    with pytest.raises(dataclasses.FrozenInstanceError):
        RULES.max_file_bytes = 10**9  # type: ignore[misc]
