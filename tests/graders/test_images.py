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


def test_a_family_built_like_another_adds_its_debian_packages_and_its_own_tag() -> None:
    etcd = graders.images.family("python-etcd")
    assert etcd.build_dir == graders.images.family_dir("python")
    assert etcd.debian_packages == ("etcd-server", "etcd-client")
    files = context_files("python-etcd")
    assert files["Dockerfile"] == context_files("python")["Dockerfile"]
    assert "family.toml" in files
    assert re.fullmatch(r"downstack/grader-python-etcd:[0-9a-f]{12}", image_tag("python-etcd"))
    assert graders.images.families() == ["python", "python-etcd"]


def test_each_set_of_packages_is_a_base_of_its_own() -> None:
    plain = builder._base_recipe_hash()
    assert plain == builder._base_recipe_hash(builder.PACKAGES)
    assert plain != builder._base_recipe_hash((*builder.PACKAGES, "etcd-server"))


def test_a_family_with_debian_packages_cannot_come_from_a_registry() -> None:
    with pytest.raises(builder.BuildError, match="--offline"):
        builder.build(family="python-etcd", source="registry")


def test_a_malformed_family_file_is_refused(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "python").mkdir()
    (tmp_path / "python" / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "odd").mkdir()
    monkeypatch.setattr(graders.images, "IMAGES_DIR", tmp_path)
    for text, message in [
        ('like = "nope"', "`like` must name a family"),
        ('like = "python"\ndebian_packages = ["etcd; rm -rf /"]', "Debian package names"),
        ('like = "python"\ncolour = "red"', "only `like` and `debian_packages`"),
    ]:
        (tmp_path / "odd" / "family.toml").write_text(text)
        with pytest.raises(ValueError, match=message):
            graders.images.family("odd")
