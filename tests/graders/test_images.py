"""Grader image naming and the offline builder's pieces that need no Docker."""

import re
from pathlib import Path

import pytest

import graders.images
from graders import image_tag
from graders.images import builder, context_files


def test_image_tag_names_the_content_of_the_build_context() -> None:
    tag = image_tag()
    assert re.fullmatch(r"downstack/grader-python:[0-9a-f]{12}", tag)
    assert image_tag("python") == tag


def test_build_context_is_the_dockerfile_entry_and_harness() -> None:
    files = context_files("python")
    assert {"Dockerfile", "entry.py", "downstack_harness.py"} <= set(files)
    assert b"ARG BASE=python:3.11-slim" in files["Dockerfile"]


def test_image_tag_changes_when_a_context_file_changes(tmp_path: Path, monkeypatch) -> None:
    before = image_tag()
    edited = tmp_path / "downstack_harness.py"
    edited.write_bytes(graders.images.HARNESS_FILE.read_bytes() + b"\n# edited\n")
    monkeypatch.setattr(graders.images, "HARNESS_FILE", edited)
    assert image_tag() != before


@pytest.mark.parametrize("family", ["nope", "../python", "Python", ""])
def test_unknown_families_are_refused(family: str) -> None:
    with pytest.raises(ValueError, match="unknown grader image family"):
        image_tag(family)


def test_mirror_comes_from_deb822_sources(tmp_path: Path) -> None:
    (tmp_path / "debian.sources").write_text(
        "Types: deb\n"
        "# a comment\n"
        "URIs: http://mirror.example/debian\n"
        "Suites: bookworm bookworm-updates\n"
        "Components: main\n"
        "\n"
        "Types: deb\n"
        "URIs: http://security.example/debian-security\n"
        "Suites: bookworm-security\n"
    )
    assert builder.debian_mirror([tmp_path]) == "http://mirror.example/debian"


def test_mirror_comes_from_one_line_sources(tmp_path: Path) -> None:
    sources = tmp_path / "sources.list"
    sources.write_text(
        "# deb http://commented.example/debian bookworm main\n"
        "deb-src http://src.example/debian bookworm main\n"
        "deb [arch=amd64 signed-by=/k.gpg] http://mirror.example/debian bookworm main\n"
    )
    assert builder.debian_mirror([sources]) == "http://mirror.example/debian"


def test_no_mirror_says_how_to_give_one(tmp_path: Path) -> None:
    with pytest.raises(builder.BuildError, match="--mirror"):
        builder.debian_mirror([tmp_path / "missing.list", tmp_path])
