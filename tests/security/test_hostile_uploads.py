"""Hostile uploads, through the lab page and the API: each is refused with a message that
names the problem before anything is queued (no row, no broker message, no attempt used,
the editor's text kept), and the upload parser never fails in any other way.

tests/grading/test_uploads.py covers the parser's refusals one by one; this file adds
the cases it lacks, takes every case through both doorways, and fuzzes the parser.
"""

import io
import stat
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from grading import queue
from grading.models import Submission
from grading.uploads import (
    MAX_ZIP_ENTRIES,
    SubmissionRejected,
    UploadRules,
    check_files,
    files_from_zip,
)
from tests.grading.test_uploads import BAD_ZIPS, believe_the_data_stream, lying_zip, make_zip
from tests.lab_page import refused_page

RULES = UploadRules(allowed=("main.py", "notes.md"), max_file_bytes=1024, max_total_bytes=1024)
GOOD = {"main.py": b"print(1)\n", "notes.md": b"# notes\n"}
EDITOR_TEXT = "print('my latest attempt')\n"


def nested_bomb() -> bytes:
    """A zip holding a zip holding a megabyte of zeros, named as the lab's file."""
    inner = make_zip([("zeros.txt", b"\0" * 1_000_000)])
    return make_zip([("main.py", make_zip([("inner.zip", inner)])), ("notes.md", b"x")])


def with_flag_utf8_but_bad_bytes() -> bytes:
    """A name that claims to be UTF-8 (flag bit 11) but whose bytes are not."""
    data = bytearray(make_zip([("main\u00e9.py", b"x")]))
    encoded = "main\u00e9.py".encode()
    return bytes(data.replace(encoded, b"main\xff\xfe.py"))


def corrupt_deflate() -> bytes:
    """A zip whose first member's compressed data starts with an invalid block type."""
    data = bytearray(make_zip([("main.py", b"print(1)\n" * 20), ("notes.md", b"x")]))
    name_len, extra_len = (int.from_bytes(data[at : at + 2], "little") for at in (26, 28))
    data[30 + name_len + extra_len] = 0xFF
    return bytes(data)


def from_the_future() -> bytes:
    """A zip whose central directory asks for a zip version Python cannot read (6.4)."""
    data = bytearray(make_zip(list(GOOD.items())))
    at = data.find(b"PK\x01\x02")
    data[at + 6] = 64
    return bytes(data)


def nul_name() -> bytes:
    """A zip whose only member's name starts with a NUL byte."""
    data = make_zip([("xmain.py", b"x")])
    return data.replace(b"xmain.py", b"\0main.py")


def many_entries(count: int) -> bytes:
    return make_zip([(f"f{i}", b"") for i in range(count)])


# Each upload with the words its refusal must contain. The parser-level cases of
# tests/grading/test_uploads.py are taken through the views as they are.
HOSTILE_ZIPS = {
    **{f"parser: {name}": case for name, case in BAD_ZIPS.items()},
    "nested zip bomb": (nested_bomb(), "main.py is not UTF-8 text"),
    "zip inside the zip": (make_zip([("inner.zip", b"PK")]), "inner.zip, which this lab"),
    "backslash climb": (make_zip([("..\\main.py", b"x")]), "uses backslashes"),
    "backslash folder": (make_zip([("lab\\main.py", b"x")]), "uses backslashes"),
    "absolute in a folder": (make_zip([("lab//etc/main.py", b"x")]), "which this lab"),
    "symlink in a folder": (
        make_zip([("lab/main.py", b"/etc/shadow", stat.S_IFLNK | 0o777), ("lab/notes.md", b"x")]),
        "lab/main.py is a symbolic link",
    ),
    "device file": (make_zip([("main.py", b"x", stat.S_IFCHR | 0o666)]), "not a regular file"),
    "duplicate after the folder": (
        make_zip([("lab/main.py", b"a"), ("lab/main.py", b"b"), ("lab/notes.md", b"x")]),
        "holds main.py twice",
    ),
    "name not utf-8 though flagged": (with_flag_utf8_but_bad_bytes(), "not valid UTF-8"),
    "empty zip": (make_zip([]), "Missing file: main.py, notes.md"),
    "oversize member": (
        make_zip([("main.py", bytes(range(256)) * 8), ("notes.md", b"x")]),
        "unpacks to 2,048 bytes",
    ),
    "oversize together": (
        make_zip([("main.py", b"a" * 600), ("notes.md", b"b" * 600)]),
        "add up to more than 1,024 bytes",
    ),
    "two thousand entries": (many_entries(2000), "holds 2000 entries"),
    "just over the entry limit": (many_entries(MAX_ZIP_ENTRIES + 1), "entries; at most"),
    "truncated zip": (make_zip(list(GOOD.items()))[:-30], "not a valid zip file"),
    "corrupt compressed data": (corrupt_deflate(), "main.py cannot be unpacked"),
    "unknown zip version": (from_the_future(), "not a valid zip file"),
    "name starting with NUL": (nul_name(), "has no name"),
}


@pytest.fixture
def lab(scratch_lab):
    # One attempt an hour, so a refusal that used up an attempt would block the next one;
    # 1 KB of files, so the size limits are reached with small uploads.
    return scratch_lab(
        "upload-lab",
        "print(1)\n",
        submit=("main.py", "notes.md"),
        extra_toml="upload_kb = 1\n\n[attempts]\nper_hour = 1\n",
    )


@pytest.fixture
def no_broker(monkeypatch, django_capture_on_commit_callbacks):
    """What would reach the broker: messages sent at once, and work left for the commit
    (where submission_create sends its message)."""
    sent = []
    monkeypatch.setattr(queue, "submission_send", lambda **k: sent.append(k))
    with django_capture_on_commit_callbacks() as on_commit:
        yield sent, on_commit


def assert_nothing_queued(no_broker) -> None:
    sent, on_commit = no_broker
    assert not Submission.objects.exists()
    assert sent == [] and on_commit == []


@pytest.mark.parametrize("case", sorted(set(HOSTILE_ZIPS) - {f"parser: {n}" for n in BAD_ZIPS}))
def test_the_new_zip_cases_are_refused_by_the_parser_with_their_message(case):
    data, message = HOSTILE_ZIPS[case]
    with pytest.raises(SubmissionRejected, match=message):
        files_from_zip(data, RULES)


@pytest.mark.parametrize("case", sorted(HOSTILE_ZIPS))
def test_hostile_zip_on_the_lab_page_is_refused_before_anything_is_queued(
    client, learner, lab, no_broker, case
):
    data, message = HOSTILE_ZIPS[case]
    client.force_login(learner)
    url = reverse("catalog:submission_create", args=[lab.slug])
    response = client.post(
        url, {"source": "upload", "archive": SimpleUploadedFile("work.zip", data)}
    )
    page = refused_page(client, response, lab)
    assert message in page.replace("&#x27;", "'").replace("&quot;", '"').replace("&amp;", "&")
    assert_nothing_queued(no_broker)
    # The editor still holds the starter: the refusal did not empty it.
    assert "print(&#x27;starter&#x27;)" in page
    # And the hour's only attempt is still there.
    good = client.post(url, {"source": "editor", "editor:main.py": "x=1\n", "editor:notes.md": "n"})
    assert good.status_code == 302


@pytest.mark.parametrize("case", sorted(HOSTILE_ZIPS))
def test_hostile_zip_through_the_api_is_refused_before_anything_is_queued(
    client, learner, lab, no_broker, case
):
    from accounts.models import ApiToken

    data, message = HOSTILE_ZIPS[case]
    _, key = ApiToken.issue(user=learner, name="cli")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    url = reverse("api:submission_create", args=[lab.slug])
    response = client.post(url, {"archive": SimpleUploadedFile("work.zip", data)}, **auth)
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert_nothing_queued(no_broker)
    good = {name: SimpleUploadedFile(name, data) for name, data in GOOD.items()}
    assert client.post(url, good, **auth).status_code == 201
    assert Submission.objects.count() == 1


LOOSE = {
    "empty file": ({"main.py": b"", "notes.md": b"x"}, "The submitted file is empty"),
    "oversize file": ({"main.py": b"a" * 2000, "notes.md": b"x"}, "2,000 bytes"),
    "binary file": ({"main.py": b"\x89PNG\r\n\x1a\n\0", "notes.md": b"x"}, "not UTF-8 text"),
    "one file missing": ({"main.py": b"x"}, "Missing file: notes.md"),
    "empty zip upload": ({"archive": b""}, "The submitted file is empty"),
}


@pytest.mark.parametrize("case", sorted(LOOSE))
def test_hostile_loose_files_on_the_lab_page_are_refused_before_anything_is_queued(
    client, learner, lab, no_broker, case
):
    files, message = LOOSE[case]
    client.force_login(learner)
    url = reverse("catalog:submission_create", args=[lab.slug])
    uploads = {name: SimpleUploadedFile(f"<{name}>", data) for name, data in files.items()}
    response = client.post(url, {"source": "upload", **uploads})
    assert message in refused_page(client, response, lab)
    assert_nothing_queued(no_broker)


def test_loose_files_of_exactly_the_lab_limit_pass_the_lab_page_and_one_byte_more_does_not(
    client, learner, lab
):
    client.force_login(learner)
    url = reverse("catalog:submission_create", args=[lab.slug])

    def upload(main_size: int):
        files = {"main.py": b"#" * main_size, "notes.md": b"n\n\n\n"}  # 1 KB in all, or 1 B more
        uploads = {name: SimpleUploadedFile(name, data) for name, data in files.items()}
        return client.post(url, {"source": "upload", **uploads})

    over = upload(1021)
    assert "The files add up to 1,025 bytes; a submission may be at most 1,024." in (
        refused_page(client, over, lab)
    )
    assert not Submission.objects.exists()
    # The refusal used no attempt: the hour's only one is still there for the exact size.
    assert upload(1020).status_code == 302
    assert Submission.objects.get().files.get(name="main.py").size == 1020


@pytest.mark.parametrize("doorway", ["lab page", "api"])
def test_a_zip_whose_header_lies_is_stopped_at_the_size_cap_by_both_doorways(
    client, learner, lab, no_broker, monkeypatch, doorway
):
    believe_the_data_stream(monkeypatch)
    upload = SimpleUploadedFile("work.zip", lying_zip(b"a" * 5000, claimed=10))
    if doorway == "api":
        from accounts.models import ApiToken

        _, key = ApiToken.issue(user=learner, name="cli")
        url = reverse("api:submission_create", args=[lab.slug])
        response = client.post(url, {"archive": upload}, HTTP_AUTHORIZATION=f"Bearer {key}")
        assert response.status_code == 400
        error = response.json()["error"]
    else:
        client.force_login(learner)
        url = reverse("catalog:submission_create", args=[lab.slug])
        response = client.post(url, {"source": "upload", "archive": upload})
        error = refused_page(client, response, lab)
    assert "main.py unpacks to more than the allowed size; files may be at most 1,024 bytes." in (
        error
    )
    assert_nothing_queued(no_broker)


def test_refused_upload_keeps_my_latest_editor_text(client, learner, lab):
    client.force_login(learner)
    url = reverse("catalog:submission_create", args=[lab.slug])
    client.post(url, {"source": "editor", "editor:main.py": EDITOR_TEXT, "editor:notes.md": "n"})
    response = client.post(
        url, {"source": "upload", "archive": SimpleUploadedFile("w.zip", b"not a zip")}
    )
    assert "print(&#x27;my latest attempt&#x27;)" in refused_page(client, response, lab)
    assert Submission.objects.count() == 1


# Fuzzing: whatever bytes arrive, the parser answers with files or a SubmissionRejected.
# The examples are bounded and the same on every run (see the profiles in conftest.py).
NAMES = st.one_of(
    st.sampled_from(["main.py", "notes.md", "lab/main.py", "../main.py", "/main.py", "a\\b"]),
    # zipfile cannot write names with NUL or lone surrogates; the mutation test covers
    # what arrives when such bytes are in a name anyway.
    st.text(
        st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"),
        min_size=1,
        max_size=40,
    ),
)
ENTRIES = st.lists(
    st.tuples(
        NAMES,
        st.binary(max_size=3000),
        st.sampled_from([0, 0o644, stat.S_IFREG | 0o644, stat.S_IFLNK | 0o777, stat.S_IFDIR]),
    ),
    max_size=8,
)


def parse(data: bytes) -> None:
    try:
        files = files_from_zip(data, RULES)
    except SubmissionRejected:
        return
    assert set(files) == set(RULES.allowed)
    assert sum(len(d) for d in files.values()) <= RULES.max_total_bytes


@given(st.binary(max_size=4096))
def test_arbitrary_bytes_as_a_zip_are_parsed_or_rejected(data):
    parse(data)
    parse(b"PK\x03\x04" + data)


def build_zip(entries, method) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data, mode in entries:
            info = zipfile.ZipInfo(name)
            info.compress_type = method
            info.external_attr = mode << 16
            archive.writestr(info, data)
    return buffer.getvalue()


@given(ENTRIES, st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2]))
def test_zips_with_arbitrary_names_sizes_and_modes_are_parsed_or_rejected(entries, method):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names are among the cases drawn
        parse(build_zip(entries, method))


@given(
    st.lists(st.tuples(st.integers(min_value=0), st.integers(min_value=0, max_value=255))),
    st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]),
)
def test_mutated_valid_zips_are_parsed_or_rejected(flips, method):
    data = bytearray(build_zip([(n, d, 0o644) for n, d in GOOD.items()], method))
    for position, value in flips:
        data[position % len(data)] = value
    parse(bytes(data))


@given(st.dictionaries(NAMES, st.binary(max_size=2000), max_size=5))
def test_arbitrary_loose_files_are_checked_or_rejected(files):
    try:
        checked = check_files(files, RULES)
    except SubmissionRejected:
        return
    assert checked == files
