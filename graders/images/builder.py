"""Builds grader images, from a registry base or from a local Debian root filesystem.

The offline path needs no container registry: ``debootstrap`` builds a minimal Debian
with python3 from the host's own apt mirror, ``docker import`` turns it into a base
image, and the family's Dockerfile is built on top with the engine's network off. Both
steps are skipped when their result already exists, so running the build again is quick.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

import docker
import docker.errors
import requests

from graders.images import context_files, families, image_tag, repository
from graders.images import family as family_spec

logger = logging.getLogger(__name__)

SOURCES = ("offline", "registry")
# Which source to use when the command line does not say; CI has no registry.
SOURCE_ENV = "DOWNSTACK_IMAGE_SOURCE"
MIRROR_ENV = "DOWNSTACK_DEBIAN_MIRROR"

# The offline base: the Debian release whose python3 matches the registry base (3.11).
SUITE = "bookworm"
VARIANT = "minbase"
PACKAGES = ("python3", "passwd")  # passwd: useradd, for the learner user
BASE_REPOSITORY = f"downstack/debian-{SUITE}-python"
# Trimmed from the root filesystem before import: downloaded packages and apt indexes.
TRIM = ("var/cache/apt/archives", "var/lib/apt/lists")

APT_SOURCES = (Path("/etc/apt/sources.list.d"), Path("/etc/apt/sources.list"))


class BuildError(Exception):
    """The image could not be built; the message says why and what to do."""


def default_source() -> str:
    source = os.environ.get(SOURCE_ENV, "offline")
    if source not in SOURCES:
        raise BuildError(f"{SOURCE_ENV} must be one of {', '.join(SOURCES)}, got {source!r}")
    return source


def build(
    *,
    family: str = "python",
    source: str | None = None,
    mirror: str | None = None,
    force: bool = False,
    client: docker.DockerClient | None = None,
) -> str:
    """Make sure the family's grader image exists; return its content tag.

    Safe to run twice: existing images are kept unless ``force`` is set.
    """
    source = source or default_source()
    if source not in SOURCES:
        raise BuildError(f"source must be one of {', '.join(SOURCES)}, got {source!r}")
    tag = image_tag(family)
    extra = family_spec(family).debian_packages
    if source == "registry" and extra:
        raise BuildError(
            f"the {family} image needs Debian packages in its base ({', '.join(extra)}), "
            "and builds have no network: build it with --offline"
        )
    client = client or _connect()
    if not force and image_exists(client, tag):
        logger.info("grader image %s already built, nothing to do", tag)
        _tag_latest(client, tag, family)
        return tag
    base = (
        ensure_offline_base(client, mirror=mirror, force=force, packages=extra)
        if source == "offline"
        else None
    )
    started = time.monotonic()
    logger.info("building %s from %s", tag, base or "the registry base in the Dockerfile")
    with tempfile.TemporaryDirectory(prefix="downstack-context-") as context:
        for name, data in context_files(family).items():
            path = Path(context, name)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        try:
            _, log = client.images.build(
                path=context,
                tag=tag,
                buildargs={"BASE": base} if base else None,
                # The engine may have no bridge at all; nothing in the build needs one.
                network_mode="none",
                rm=True,
                forcerm=True,
                labels={
                    "org.downstack.family": family,
                    "org.downstack.base": base or "registry",
                },
            )
        except docker.errors.BuildError as exc:
            tail = "\n".join(log_lines(exc.build_log)[-20:])
            if base is None:
                tail += "\n(no container registry reachable? build with --offline instead)"
            raise BuildError(f"building {tag} failed: {exc.msg}\n{tail}") from exc
        except docker.errors.APIError as exc:
            raise BuildError(f"building {tag} failed: {exc.explanation or exc}") from exc
    for line in log_lines(log):
        logger.debug("%s", line)
    logger.info("built %s in %.0f s", tag, time.monotonic() - started)
    _tag_latest(client, tag, family)
    return tag


def build_all(
    *,
    source: str | None = None,
    mirror: str | None = None,
    force: bool = False,
    client: docker.DockerClient | None = None,
) -> list[str]:
    """Build every family, as ``build`` builds one; return their content tags."""
    client = client or _connect()
    return [
        build(family=name, source=source, mirror=mirror, force=force, client=client)
        for name in families()
    ]


def ensure_offline_base(
    client: docker.DockerClient,
    *,
    mirror: str | None = None,
    force: bool = False,
    packages: tuple[str, ...] = (),
) -> str:
    """Make sure the debootstrapped base image with ``PACKAGES`` and ``packages`` exists;
    return its name. Each set of packages is a base of its own, named by its recipe."""
    base = base_name(packages)
    packages = PACKAGES + tuple(p for p in packages if p not in PACKAGES)
    if not force and image_exists(client, base):
        logger.info("base image %s already exists, skipping debootstrap", base)
        return base
    if os.geteuid() != 0:
        raise BuildError("debootstrap needs root: run the build with sudo (or as root)")
    if shutil.which("debootstrap") is None:
        raise BuildError("debootstrap is not installed: run `sudo scripts/host-setup.sh`")
    mirror = mirror or os.environ.get(MIRROR_ENV) or debian_mirror()
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="downstack-rootfs-"))
    root = workdir / "root"
    try:
        logger.info(
            "running debootstrap (%s, %s + %s) from %s; this takes a few minutes",
            SUITE,
            VARIANT,
            ", ".join(packages),
            mirror,
        )
        _run(
            [
                "debootstrap",
                f"--variant={VARIANT}",
                f"--include={','.join(packages)}",
                SUITE,
                str(root),
                mirror,
            ]
        )
        for relative in TRIM:
            for entry in (root / relative).glob("*"):
                if entry.is_file():
                    entry.unlink()
        archive = workdir / "rootfs.tar"
        _run(["tar", "--numeric-owner", "-C", str(root), "-cf", str(archive), "."])
        logger.info("importing the root filesystem as %s", base)
        name, tag = base.rsplit(":", 1)
        try:
            client.api.import_image(
                src=str(archive),
                repository=name,
                tag=tag,
                changes=[
                    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    'CMD ["/bin/bash"]',
                ],
            )
        except docker.errors.APIError as exc:
            raise BuildError(f"importing {base} failed: {exc.explanation or exc}") from exc
    finally:
        _remove_tree(workdir)
    logger.info("base image %s ready in %.0f s", base, time.monotonic() - started)
    return base


def base_name(packages: tuple[str, ...] = ()) -> str:
    """The name of the debootstrapped base with ``PACKAGES`` and ``packages``."""
    packages = PACKAGES + tuple(p for p in packages if p not in PACKAGES)
    return f"{BASE_REPOSITORY}:{_base_recipe_hash(packages)}"


def debian_mirror(sources: Iterable[Path] = APT_SOURCES) -> str:
    """The first apt mirror configured for the base suite (deb822 or one-line format)."""
    for location in sources:
        files = sorted(location.glob("*.sources")) + sorted(location.glob("*.list"))
        for path in files if location.is_dir() else [location]:
            try:
                text = path.read_text()
            except OSError:
                continue
            parse = _mirror_from_deb822 if path.suffix == ".sources" else _mirror_from_one_line
            found = parse(text)
            if found:
                return found
    raise BuildError(
        f"no apt mirror for Debian {SUITE} found in the apt sources: "
        f"pass --mirror URL or set {MIRROR_ENV}"
    )


def _mirror_from_deb822(text: str) -> str | None:
    for stanza in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if line.startswith("#") or ":" not in line or line[:1].isspace():
                continue
            key, value = line.split(":", 1)
            fields[key.strip().lower()] = value.strip()
        if (
            "deb" in fields.get("types", "").split()
            and SUITE in fields.get("suites", "").split()
            and fields.get("enabled", "yes").lower() != "no"
            and fields.get("uris")
        ):
            return fields["uris"].split()[0]
    return None


def _mirror_from_one_line(text: str) -> str | None:
    for line in text.splitlines():
        # deb [option=value ...] URI suite components...
        words = re.sub(r"\[[^\]]*\]", " ", line.split("#", 1)[0]).split()
        if len(words) >= 3 and words[0] == "deb" and words[2] == SUITE:
            return words[1]
    return None


def _base_recipe_hash(packages: tuple[str, ...] = PACKAGES) -> str:
    recipe = f"{SUITE}|{VARIANT}|{','.join(packages)}|{os.uname().machine}|{TRIM}"
    return hashlib.sha256(recipe.encode()).hexdigest()[:12]


def _connect() -> docker.DockerClient:
    try:
        client = docker.from_env()
        client.ping()
    except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
        raise BuildError(
            f"Docker is not running: start it with `sudo scripts/host-setup.sh` ({exc})"
        ) from exc
    return client


def image_exists(client: docker.DockerClient, name: str) -> bool:
    """Whether the engine has an image by this name (repository:tag)."""
    try:
        client.images.get(name)
    except docker.errors.ImageNotFound:
        return False
    return True


def _tag_latest(client: docker.DockerClient, tag: str, family: str) -> None:
    image = client.images.get(tag)
    if f"{repository(family)}:latest" not in image.tags:
        image.tag(repository(family), "latest")
        logger.info("tagged %s as %s:latest", tag, repository(family))


def log_lines(log: Iterable[dict[str, object]]) -> list[str]:
    lines: list[str] = []
    for entry in log:
        text = entry.get("stream") or entry.get("error") or ""
        lines.extend(str(text).rstrip("\n").splitlines())
    return lines


def _run(command: list[str]) -> None:
    logger.debug("running %s", " ".join(command))
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        tail = "\n".join((completed.stdout + completed.stderr).splitlines()[-20:])
        raise BuildError(f"{command[0]} failed with exit status {completed.returncode}:\n{tail}")


def _remove_tree(path: Path) -> None:
    # A failed debootstrap can leave /proc or /sys mounted inside the tree; deleting
    # through a mount point would walk into the host's own files, so stop instead.
    with open("/proc/self/mounts") as mounts:
        inside = [m.split()[1] for m in mounts if m.split()[1].startswith(str(path) + "/")]
    if inside:
        logger.warning("left %s in place: %s still mounted inside it", path, ", ".join(inside))
        return
    shutil.rmtree(path, ignore_errors=True)
