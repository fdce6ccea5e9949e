"""Builds the image of one Gradescope autograder, the way Gradescope builds it.

Gradescope puts the autograder's files in ``/autograder/source``, copies
``run_autograder`` to ``/autograder/run_autograder``, fixes line endings and execute
bits, then runs ``apt-get update && bash setup.sh`` as root. Here that happens in a
container on a debootstrapped base carrying what Gradescope's base carries, rather than
in ``docker build``, so that the build's time is capped and its log reaches the caller
line by line. The container is the only step given the host's network (the engine has
no bridge), because setup.sh installs from package mirrors; the image it leaves behind
is committed only when setup.sh succeeded, and is tagged by the content it was built
from, so building the same autograder again reuses it.
"""

from __future__ import annotations

import hashlib
import io
import logging
import tarfile
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import docker
import docker.errors
import requests
from docker.models.containers import Container

from graders.images import builder

logger = logging.getLogger(__name__)

# What Gradescope's base image carries, as Debian 12 packages; C.UTF-8 needs no package,
# Debian's libc has it built in.
GRADESCOPE_PACKAGES = (
    "python3",
    "python3-pip",
    "python3-venv",
    "python3-dev",
    "build-essential",
    "curl",
    "unzip",
    "git",
    "ca-certificates",
    "dos2unix",
)

REPOSITORY_PREFIX = "downstack/gradescope-"
# Every build container carries this label, its value the tag it builds, so leftovers
# can be found: docker rm -f $(docker ps -aq --filter label=org.downstack.gradescope-build)
# The committed image keeps it, naming what it was built as.
LABEL = "org.downstack.gradescope-build"

AUTOGRADER_DIR = "/autograder"
SOURCE_DIR = f"{AUTOGRADER_DIR}/source"
# Downstack's entry program and what the build left in /autograder, which a run's fresh
# tmpfs on /autograder would hide (graders/harness/gradescope_entry.py copies it back).
DOWNSTACK_DIR = "/opt/downstack"
SNAPSHOT_DIR = f"{DOWNSTACK_DIR}/autograder"
HARNESS_DIR = Path(__file__).resolve().parent.parent / "harness"
ENTRY_FILES = {
    "entry.py": Path(__file__).resolve().parent / "python" / "entry.py",
    "gradescope_entry.py": HARNESS_DIR / "gradescope_entry.py",
}
CONTAINER_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
# Where the host's bundle is put in the container before the script moves it into place.
STAGED_CA_BUNDLE = "/tmp/downstack-host-ca-bundle.crt"

# Debian 12 marks its Python as externally managed (PEP 668): without this, the
# `pip install` that nearly every setup.sh runs is refused. It is set for the build and
# kept in the image, as Gradescope's image does.
ENVIRONMENT = {"PIP_BREAK_SYSTEM_PACKAGES": "1", "LANG": "C.UTF-8"}
BUILD_ENVIRONMENT = {**ENVIRONMENT, "DEBIAN_FRONTEND": "noninteractive"}

# Gradescope's own build steps, in its order. A package mirror behind a TLS-intercepting
# proxy presents certificates the base's public CAs do not sign; the host trusts that
# proxy, so its bundle, when given, replaces the container's before setup.sh runs.
# Each step announces itself on a line of its own (STEP_MARK), so that a failure names
# the step that failed: a mirror out of reach fails `apt-get update`, not setup.sh.
STEP_MARK = "--- downstack build step: "
BUILD_SCRIPT = f"""set -e
step() {{ echo "{STEP_MARK}$1"; }}
step "installing the host's CA bundle"
if [ -f {STAGED_CA_BUNDLE} ]; then mv {STAGED_CA_BUNDLE} {CONTAINER_CA_BUNDLE}; fi
step "copying run_autograder, dos2unix and chmod +x"
cp {SOURCE_DIR}/run_autograder {AUTOGRADER_DIR}/run_autograder
dos2unix {SOURCE_DIR}/setup.sh {AUTOGRADER_DIR}/run_autograder
chmod +x {SOURCE_DIR}/setup.sh {AUTOGRADER_DIR}/run_autograder
cd {SOURCE_DIR}
step "apt-get update"
apt-get update
step "setup.sh"
bash setup.sh
step "cleaning up after setup.sh"
apt-get clean
rm -rf /var/lib/apt/lists/*
cd /
mv {AUTOGRADER_DIR} {SNAPSHOT_DIR}
mkdir -m 755 {AUTOGRADER_DIR}
"""
# /usr/bin/python3 by its full path: setup.sh may put another python3 first on PATH.
IMAGE_CHANGES = [
    *(f"ENV {name}={value}" for name, value in ENVIRONMENT.items()),
    f"WORKDIR {AUTOGRADER_DIR}",
    f'ENTRYPOINT ["/usr/bin/python3", "-I", "{DOWNSTACK_DIR}/gradescope_entry.py"]',
    f'CMD ["{AUTOGRADER_DIR}/run_autograder"]',
]

# How many of the log's last lines a build error carries.
LOG_TAIL_LINES = 40
# How long a finished or killed container may take to report its exit status.
STOP_WAIT_S = 30

OnLog = Callable[[str], None]


class AutograderBuildError(builder.BuildError):
    """A build step (setup.sh, most often) failed, the build ran past its time cap, or
    the engine failed; nothing was tagged.
    The message names the cause and ends with the log's last lines."""


def ensure_gradescope_base(client: docker.DockerClient) -> str:
    """Make sure the base with Gradescope's packages exists; return its name.

    Safe to run twice: the first run debootstraps it (a few minutes), later ones find it.
    """
    return builder.ensure_offline_base(client, packages=GRADESCOPE_PACKAGES)


def base_name() -> str:
    """The name of the base ensure_gradescope_base makes, without asking the engine."""
    return builder.base_name(GRADESCOPE_PACKAGES)


def autograder_tag(source: Path, base: str) -> str:
    """The image tag for the autograder in ``source`` built on ``base``:
    ``downstack/gradescope-<source digest>:<base recipe>``.

    The digest covers every path, mode and byte under ``source``, the build steps and
    Downstack's entry program, so a change to any of them builds a new image."""
    digest = hashlib.sha256()
    steps = [text.encode() for text in (BUILD_SCRIPT, *IMAGE_CHANGES)]
    for step in (*steps, *_entry_files().values()):
        digest.update(f"{len(step)}:".encode())
        digest.update(step)
    for path in _tree(source):
        name = path.relative_to(source).as_posix()
        mode = path.stat().st_mode & 0o7777
        data = b"" if path.is_dir() else path.read_bytes()
        # Length-prefixed so that moving bytes between a name and a body changes the hash.
        digest.update(f"{len(name)}:{name}:{mode:o}:{int(path.is_dir())}:{len(data)}:".encode())
        digest.update(data)
    return f"{REPOSITORY_PREFIX}{digest.hexdigest()[:12]}:{base.rsplit(':', 1)[-1]}"


def build_autograder_image(
    source: Path,
    *,
    client: docker.DockerClient,
    timeout_s: int,
    on_log: OnLog | None = None,
    ca_bundle: Path | None = HOST_CA_BUNDLE,
) -> str:
    """Build the image of the autograder in ``source`` (holding setup.sh and
    run_autograder); return its tag. Each line setup.sh prints goes to ``on_log``.

    ``ca_bundle`` is the host's CA bundle given to the build (skipped when None or
    absent). Raises AutograderBuildError when setup.sh exits non-zero, runs longer than
    ``timeout_s`` seconds, or the engine fails; then nothing is tagged. Safe to run twice:
    an image already built from the same content is returned without building again.
    """
    say = on_log or (lambda line: None)
    for required in ("setup.sh", "run_autograder"):
        if not (source / required).is_file():
            raise AutograderBuildError(f"{source} holds no {required}; it is not an autograder.")
    base = ensure_gradescope_base(client)
    tag = autograder_tag(source, base)
    if builder.image_exists(client, tag):
        say(f"image {tag} is already built from this autograder; reusing it")
        return tag
    say(f"building {tag} on {base}")
    archive = _archive(source, ca_bundle if ca_bundle and ca_bundle.is_file() else None)
    try:
        container = client.containers.create(
            base,
            ["bash", "-c", BUILD_SCRIPT],
            environment=BUILD_ENVIRONMENT,
            # The only network this engine offers; setup.sh needs the package mirrors.
            network_mode="host",
            labels={LABEL: tag},
            user="root",
        )
    except docker.errors.APIError as exc:
        raise AutograderBuildError(f"building {tag} failed: {exc.explanation or exc}") from exc
    try:
        _build_in(container, archive, tag=tag, timeout_s=timeout_s, say=say)
    finally:
        _remove(container)
    say(f"built {tag}")
    return tag


def _build_in(
    container: Container,
    archive: bytes,
    *,
    tag: str,
    timeout_s: int,
    say: OnLog,
) -> None:
    """Run the build script in ``container``; commit it to ``tag`` only when it succeeded."""
    tail: deque[str] = deque(maxlen=LOG_TAIL_LINES)
    step = "the build"
    expired = threading.Event()

    def kill_at_deadline() -> None:
        expired.set()
        try:
            container.kill()
        except docker.errors.APIError:
            pass  # it stopped by itself at the deadline: the deadline still counts

    deadline = threading.Timer(timeout_s, kill_at_deadline)
    try:
        container.put_archive("/", archive)
        container.start()
        deadline.start()
        for line in _lines(container.logs(stream=True, follow=True)):
            if line.startswith(STEP_MARK):
                step = line.removeprefix(STEP_MARK)
                continue
            tail.append(line)
            say(line)
        status = container.wait(timeout=STOP_WAIT_S)["StatusCode"]
    except (docker.errors.APIError, requests.exceptions.RequestException) as exc:
        raise _failure(tag, f"the Docker engine failed ({exc})", tail) from exc
    finally:
        deadline.cancel()
    if expired.is_set():
        raise _failure(
            tag, f"the build ran past its time cap of {timeout_s} s and was stopped", tail
        )
    if status != 0:
        raise _failure(tag, f"{step} failed with exit status {status}", tail)
    try:
        repository, version = tag.rsplit(":", 1)
        container.commit(repository=repository, tag=version, changes=IMAGE_CHANGES)
    except docker.errors.APIError as exc:
        raise _failure(tag, f"saving the image failed ({exc.explanation or exc})", tail) from exc


def _failure(tag: str, cause: str, tail: Iterable[str]) -> AutograderBuildError:
    lines = "\n".join(tail) or "(no output)"
    return AutograderBuildError(
        f"Building {tag} failed: {cause}. Nothing was saved. The build log ended with:\n{lines}"
    )


def _lines(chunks: Iterable[bytes]) -> Iterator[str]:
    """The text lines of a stream of byte chunks, carriage returns dropped."""
    pending = b""
    for chunk in chunks:
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for line in complete:
            yield line.decode("utf-8", "replace").rstrip("\r")
    if pending:
        yield pending.decode("utf-8", "replace").rstrip("\r")


def _tree(source: Path) -> list[Path]:
    """Every file and folder under ``source``, in a fixed order; links and devices refused."""
    paths = sorted(source.rglob("*"))
    for path in paths:
        if path.is_symlink() or not (path.is_file() or path.is_dir()):
            raise AutograderBuildError(f"{path} is not a regular file or folder.")
    return paths


def _archive(source: Path, ca_bundle: Path | None) -> bytes:
    """A tar holding ``source`` as /autograder/source, owned by root with its modes kept,
    and the CA bundle at its staging path."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        top = tarfile.TarInfo(AUTOGRADER_DIR.lstrip("/"))
        top.type, top.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(top)
        root = SOURCE_DIR.lstrip("/")
        tar.add(source, arcname=root, recursive=False, filter=_as_root)
        for path in _tree(source):
            name = f"{root}/{path.relative_to(source).as_posix()}"
            tar.add(path, arcname=name, recursive=False, filter=_as_root)
        folder = tarfile.TarInfo(DOWNSTACK_DIR.lstrip("/"))
        folder.type, folder.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(folder)
        for name, data in _entry_files().items():
            info = tarfile.TarInfo(f"{DOWNSTACK_DIR.lstrip('/')}/{name}")
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
        if ca_bundle is not None:
            data = ca_bundle.read_bytes()  # read through a link, should the bundle be one
            staged = tarfile.TarInfo(STAGED_CA_BUNDLE.lstrip("/"))
            staged.size, staged.mode = len(data), 0o644
            tar.addfile(staged, io.BytesIO(data))
    return buffer.getvalue()


def _entry_files() -> dict[str, bytes]:
    return {name: path.read_bytes() for name, path in ENTRY_FILES.items()}


def _as_root(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def _remove(container: Container) -> None:
    try:
        container.remove(force=True)
    except docker.errors.NotFound:
        pass
    except docker.errors.APIError as exc:
        # Raising here would hide the build's own outcome; the label finds it later.
        logger.warning("could not remove build container %s: %s", container.id, exc)
