"""Unpacking Gradescope autograder zips: what is written, with which modes, and what is
refused (every hostile entry crafted here with ZipInfo), leaving nothing behind."""

import hashlib
import io
import stat
import zipfile

import pytest

from catalog.gradescope import (
    AutograderZipError,
    CapExceeded,
    ZipLimits,
    copy_capped,
    extract_autograder,
)

SETUP = b"#!/usr/bin/env bash\napt-get install -y python3\n"
RUN = b"#!/usr/bin/env bash\ncd /autograder/source && python3 run_tests.py\n"
REG = stat.S_IFREG
SMALL = ZipLimits(max_total_bytes=3000, max_file_bytes=1000, max_entries=10)


def entry(name, data=b"", mode=REG | 0o644):
    """A zip entry with the Unix mode (type and permission bits) a crafted zip would carry."""
    info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
    info.external_attr = mode << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info, data


def required():
    return [entry("setup.sh", SETUP, REG | 0o755), entry("run_autograder", RUN, REG | 0o755)]


@pytest.fixture
def make_zip(tmp_path):
    def make(entries, name="autograder.zip"):
        path = tmp_path / name
        with zipfile.ZipFile(path, "w") as archive:
            for info, data in entries:
                archive.writestr(info, data)
        return path

    return make


@pytest.fixture
def labs(tmp_path):
    """The folder the lab is unpacked into; after a refusal it must still be empty."""
    path = tmp_path / "labs"
    path.mkdir()
    return path


def refusal(zip_path, dest, **kwargs):
    with pytest.raises(AutograderZipError) as caught:
        extract_autograder(zip_path, dest, **kwargs)
    assert not dest.exists()
    assert list(dest.parent.iterdir()) == [], "nothing half-extracted is left beside dest"
    return str(caught.value)


def mode_of(path):
    return stat.S_IMODE(path.stat().st_mode)


def test_autograder_is_unpacked_with_its_files_modes_and_sha256(make_zip, labs):
    zip_path = make_zip(
        [
            *required(),
            entry("tests/", mode=stat.S_IFDIR | 0o700),
            entry("tests/test_basic.py", b"def test(): pass\n", REG | 0o600),
            entry("tests/helper.sh", b"echo\n", REG | 0o710),
            entry("data/deep/input.txt", b"42\n", REG | 0o664),  # parents not listed
            entry("made-on-windows.txt", b"dos\n", 0),  # no Unix mode stored at all
        ]
    )
    dest = labs / "gs-lab"

    result = extract_autograder(zip_path, dest)

    assert result.sha256 == hashlib.sha256(zip_path.read_bytes()).hexdigest()
    assert result.stripped_folder is None
    assert result.files == (
        "data/deep/input.txt",
        "made-on-windows.txt",
        "run_autograder",
        "setup.sh",
        "tests/helper.sh",
        "tests/test_basic.py",
    )
    assert (dest / "setup.sh").read_bytes() == SETUP
    assert (dest / "run_autograder").read_bytes() == RUN
    assert (dest / "data/deep/input.txt").read_bytes() == b"42\n"
    assert mode_of(dest / "setup.sh") == 0o755
    assert mode_of(dest / "run_autograder") == 0o755
    assert mode_of(dest / "tests/helper.sh") == 0o755  # any x bit gives 0755
    assert mode_of(dest / "tests/test_basic.py") == 0o644
    assert mode_of(dest / "data/deep/input.txt") == 0o644
    assert mode_of(dest / "made-on-windows.txt") == 0o644
    for folder in (dest, dest / "tests", dest / "data", dest / "data/deep"):
        assert mode_of(folder) == 0o755, folder
    assert sorted(p.name for p in labs.iterdir()) == ["gs-lab"], "no staging folder remains"


def test_setuid_setgid_and_sticky_bits_are_never_restored(make_zip, labs):
    zip_path = make_zip(
        [
            entry("setup.sh", SETUP, REG | stat.S_ISUID | 0o755),
            entry("run_autograder", RUN, REG | stat.S_ISUID | stat.S_ISGID | 0o4755),
            entry("shared/", mode=stat.S_IFDIR | stat.S_ISVTX | 0o777),
            entry("shared/group.txt", b"g\n", REG | stat.S_ISGID | 0o666),
        ]
    )
    dest = labs / "gs-lab"

    extract_autograder(zip_path, dest)

    assert mode_of(dest / "setup.sh") == 0o755
    assert mode_of(dest / "run_autograder") == 0o755
    assert mode_of(dest / "shared") == 0o755
    assert mode_of(dest / "shared/group.txt") == 0o644


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("/etc/cron.d/evil", "/etc/cron.d/evil is an absolute path"),
        ("../x", "../x climbs out of its folder with '..'"),
        ("a/../../x", "a/../../x climbs out of its folder with '..'"),
        ("tests/../../../root/.bashrc", "tests/../../../root/.bashrc climbs out"),
        ("..\\..\\x", "..\\..\\x uses backslashes"),
        ("tests\\evil.py", "tests\\evil.py uses backslashes"),
        ("C:/Windows/evil", "C:/Windows/evil starts with a drive letter"),
        ("c:evil", "c:evil starts with a drive letter"),
    ],
)
def test_a_path_that_escapes_the_folder_is_refused(make_zip, labs, name, problem):
    zip_path = make_zip([*required(), entry(name, b"owned\n")])

    assert problem in refusal(zip_path, labs / "gs-lab")


def test_a_symlink_entry_is_refused(make_zip, labs):
    zip_path = make_zip([*required(), entry("tests/data", b"/etc/shadow", stat.S_IFLNK | 0o777)])

    message = refusal(zip_path, labs / "gs-lab")

    assert message == "tests/data is a symbolic link; links are not accepted."


@pytest.mark.parametrize(
    "kind",
    [stat.S_IFCHR, stat.S_IFBLK, stat.S_IFIFO, stat.S_IFSOCK],
    ids=["chr", "blk", "fifo", "sock"],
)
def test_devices_fifos_and_sockets_are_refused(make_zip, labs, kind):
    zip_path = make_zip([*required(), entry("dev/thing", b"", kind | 0o666)])

    message = refusal(zip_path, labs / "gs-lab")

    assert message == "dev/thing is not a regular file or folder (a device, FIFO or socket)."


def test_a_name_twice_is_refused(make_zip, labs):
    first, second = entry("tests/a.py", b"one\n"), entry("tests/a.py", b"two\n")
    with pytest.warns(UserWarning, match="Duplicate name"):
        zip_path = make_zip([*required(), first, second])

    message = refusal(zip_path, labs / "gs-lab")

    assert message == "The zip holds tests/a.py twice (as tests/a.py and tests/a.py)."


@pytest.mark.parametrize("alias", ["tests/./a.py", "tests//a.py", "./tests/a.py"])
def test_names_that_are_the_same_once_normalised_are_refused(make_zip, labs, alias):
    zip_path = make_zip([*required(), entry("tests/a.py", b"one\n"), entry(alias, b"two\n")])

    message = refusal(zip_path, labs / "gs-lab")

    assert message == f"The zip holds tests/a.py twice (as tests/a.py and {alias})."


def test_a_file_that_is_also_a_folder_is_refused(make_zip, labs):
    zip_path = make_zip([*required(), entry("data", b"x"), entry("data/input.txt", b"y")])

    message = refusal(zip_path, labs / "gs-lab")

    assert message == "data is both a file and a folder (the folder of data/input.txt)."


def mark_encrypted(zip_path, name):
    """Set the "encrypted" flag of `name` in its local and central headers, as a
    password-protected zip carries it (zipfile clears the flag when writing)."""
    data = bytearray(zip_path.read_bytes())
    with zipfile.ZipFile(zip_path) as archive:
        local = archive.getinfo(name).header_offset
    data[local + 6] |= 0x1
    start = 0
    while (start := data.find(b"PK\x01\x02", start + 1)) != -1:
        length = int.from_bytes(data[start + 28 : start + 30], "little")
        if data[start + 46 : start + 46 + length] == name.encode():
            data[start + 8] |= 0x1
    zip_path.write_bytes(bytes(data))


def test_an_encrypted_entry_is_refused(make_zip, labs):
    zip_path = make_zip([*required(), entry("tests/secret.py", b"x")])
    mark_encrypted(zip_path, "tests/secret.py")
    with zipfile.ZipFile(zip_path) as archive:
        assert archive.getinfo("tests/secret.py").flag_bits & 0x1

    message = refusal(zip_path, labs / "gs-lab")

    assert message == "tests/secret.py is encrypted; upload a zip without a password."


def test_a_file_declared_over_the_file_cap_is_refused_before_writing(make_zip, labs):
    zip_path = make_zip([*required(), entry("big.bin", b"\0" * 1001)])

    message = refusal(zip_path, labs / "gs-lab", limits=SMALL)

    assert message == "big.bin unpacks to 1,001 bytes; files may be at most 1,000 bytes."


def test_files_declared_over_the_total_cap_are_refused_before_writing(make_zip, labs):
    parts = [entry(f"data/{n}.bin", b"\0" * 1000) for n in range(3)]
    zip_path = make_zip([*required(), *parts])

    message = refusal(zip_path, labs / "gs-lab", limits=SMALL)

    total = 3000 + len(SETUP) + len(RUN)
    assert message == (
        f"The zip unpacks to {total:,} bytes; an autograder may be at most 3,000 bytes."
    )


def test_an_entry_whose_header_lies_about_its_size_is_refused(tmp_path, labs):
    """The central directory claims 10 bytes for 5,000 (over the 1,000-byte cap): the
    entry is refused while being written, and the files already written are removed."""
    path = tmp_path / "liar.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for info, data in [*required(), entry("tests/ok.py", b"pass\n")]:
            archive.writestr(info, data)
        info, data = entry("liar.bin", b"\0" * 5000)
        archive.writestr(info, data)
        archive.getinfo("liar.bin").file_size = 10  # what the central directory will say
    with zipfile.ZipFile(path) as archive:
        assert archive.getinfo("liar.bin").file_size == 10

    message = refusal(path, labs / "gs-lab", limits=SMALL)

    assert message.startswith("liar.bin cannot be unpacked: Bad CRC-32 for file 'liar.bin'")


def test_copying_counts_real_bytes_and_stops_past_the_budget():
    """The cap holds against whatever a stream yields, not what a header declared."""
    out = io.BytesIO()

    with pytest.raises(CapExceeded):
        copy_capped(io.BytesIO(b"\0" * 200_000), out, budget=100_000)

    assert len(out.getvalue()) <= 100_000
    assert copy_capped(io.BytesIO(b"x" * 100_000), io.BytesIO(), budget=100_000) == 100_000


def test_too_many_entries_are_refused(make_zip, labs):
    zip_path = make_zip([*required(), *(entry(f"t/{n}.py", b"") for n in range(9))])

    message = refusal(zip_path, labs / "gs-lab", limits=SMALL)

    assert message == "The zip holds 11 entries; at most 10 are allowed."


def test_a_zip_without_setup_sh_names_it(make_zip, labs):
    zip_path = make_zip([entry("run_autograder", RUN, REG | 0o755), entry("tests/setup.sh")])

    message = refusal(zip_path, labs / "gs-lab")

    assert message == (
        "The zip has no setup.sh at its root; a Gradescope autograder needs setup.sh and "
        "run_autograder there."
    )


def test_a_zip_without_either_file_names_both(make_zip, labs):
    zip_path = make_zip([entry("setup.sh/", mode=stat.S_IFDIR | 0o755), entry("README.md")])

    message = refusal(zip_path, labs / "gs-lab")

    assert message == (
        "The zip has no setup.sh and no run_autograder at its root; a Gradescope autograder "
        "needs setup.sh and run_autograder there."
    )


def folder_zip(make_zip):
    """An autograder zipped as its folder (`zip -r autograder.zip autograder/`)."""
    return make_zip(
        [
            entry("autograder/", mode=stat.S_IFDIR | 0o755),
            entry("autograder/setup.sh", SETUP, REG | 0o755),
            entry("autograder/run_autograder", RUN, REG | 0o755),
            entry("autograder/tests/test_basic.py", b"def test(): pass\n"),
        ]
    )


def test_a_single_top_folder_is_named_with_the_offer_to_strip_it(make_zip, labs):
    with pytest.raises(AutograderZipError) as caught:
        extract_autograder(folder_zip(make_zip), labs / "gs-lab")

    assert str(caught.value) == (
        "The zip has no setup.sh and no run_autograder at its root; a Gradescope autograder "
        "needs setup.sh and run_autograder there. They are inside its single top-level "
        "folder autograder/: extract it with that folder stripped."
    )
    assert caught.value.strippable_folder == "autograder"
    assert list(labs.iterdir()) == []


def test_stripping_the_single_top_folder_unpacks_its_contents(make_zip, labs):
    zip_path = folder_zip(make_zip)
    dest = labs / "gs-lab"

    result = extract_autograder(zip_path, dest, strip_top_folder=True)

    assert result.stripped_folder == "autograder"
    assert result.files == ("run_autograder", "setup.sh", "tests/test_basic.py")
    assert result.sha256 == hashlib.sha256(zip_path.read_bytes()).hexdigest()
    assert (dest / "run_autograder").read_bytes() == RUN
    assert mode_of(dest / "run_autograder") == 0o755
    assert not (dest / "autograder").exists()


def test_stripping_is_refused_when_there_is_no_single_top_folder(make_zip, labs):
    zip_path = make_zip([*required(), entry("tests/test_basic.py")])

    message = refusal(zip_path, labs / "gs-lab", strip_top_folder=True)

    assert message == (
        "Stripping the top-level folder was asked for, but the zip does not hold exactly "
        "one top-level folder with everything inside it."
    )


def test_a_folder_in_the_top_folder_without_the_required_files_gets_no_offer(make_zip, labs):
    zip_path = make_zip([entry("autograder/setup.sh", SETUP), entry("autograder/README.md")])

    with pytest.raises(AutograderZipError) as caught:
        extract_autograder(zip_path, labs / "gs-lab")

    assert "stripped" not in str(caught.value)
    assert caught.value.strippable_folder is None


def test_a_full_destination_is_refused_and_left_alone(make_zip, labs):
    dest = labs / "gs-lab"
    dest.mkdir()
    (dest / "lab.toml").write_text("kept\n")

    with pytest.raises(AutograderZipError, match="is not empty; choose a new or empty folder"):
        extract_autograder(make_zip(required()), dest)

    assert [p.name for p in dest.iterdir()] == ["lab.toml"]
    assert (dest / "lab.toml").read_text() == "kept\n"


def test_an_empty_destination_folder_is_filled(make_zip, labs):
    dest = labs / "gs-lab"
    dest.mkdir()

    result = extract_autograder(make_zip(required()), dest)

    assert result.files == ("run_autograder", "setup.sh")
    assert sorted(p.name for p in labs.iterdir()) == ["gs-lab"]


def test_a_name_the_file_system_refuses_is_named_and_nothing_is_left(make_zip, labs):
    long_name = "tests/" + "x" * 300 + ".py"
    zip_path = make_zip([*required(), entry("tests/ok.py", b"pass\n"), entry(long_name, b"")])

    message = refusal(zip_path, labs / "gs-lab")

    assert message == f"{long_name} cannot be unpacked: File name too long."


def test_a_file_that_is_not_a_zip_is_refused(tmp_path, labs):
    not_zip = tmp_path / "autograder.zip"
    not_zip.write_bytes(b"#!/bin/sh\necho this is a script\n")

    message = refusal(not_zip, labs / "gs-lab")

    assert message == "autograder.zip is not a valid zip file."


def test_what_macos_finder_adds_is_left_out_and_the_top_folder_stays_single(make_zip, labs):
    # "Compress" in Finder: the folder, its AppleDouble twins under __MACOSX/, .DS_Store.
    zip_path = make_zip(
        [
            entry("hw1/setup.sh", SETUP, REG | 0o755),
            entry("hw1/run_autograder", RUN, REG | 0o755),
            entry("hw1/.DS_Store", b"\0\0\0\1Bud1"),
            entry("__MACOSX/hw1/._setup.sh", b"\0\5\26\7"),
            entry("__MACOSX/hw1/._run_autograder", b"\0\5\26\7"),
        ]
    )
    with pytest.raises(AutograderZipError) as caught:
        extract_autograder(zip_path, labs / "refused")
    assert caught.value.strippable_folder == "hw1"

    result = extract_autograder(zip_path, labs / "gs-lab", strip_top_folder=True)

    assert result.files == ("run_autograder", "setup.sh")
    assert sorted(p.name for p in (labs / "gs-lab").iterdir()) == ["run_autograder", "setup.sh"]
