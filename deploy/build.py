"""Build the images of the compose deployment on this host's Docker engine, with no registry.

    sudo .venv/bin/python deploy/build.py [--mirror URL] [--pip-index URL]

1. The grader images (every family), as `scripts/host-setup.sh` builds them: the workers
   start sandboxes from them on this engine.
2. `downstack/server`: web, worker, beat, PostgreSQL and Redis in one image, built on a
   debootstrapped Debian base (the grader images' own builder, with PostgreSQL, Redis and
   venv added) with the engine's network off. Its Python packages are wheels that this
   script fetches first with `pip wheel`, from PyPI or the mirror `--pip-index` names.

The image is tagged with a hash of what went into it and as `downstack/server:latest`,
which `deploy/docker-compose.yml` runs. Running it again rebuilds only what changed.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import docker  # noqa: E402
import docker.errors  # noqa: E402

from graders.images import builder  # noqa: E402

REPOSITORY = "downstack/server"
# The server's base: the grader base's Debian plus what the services run on.
PACKAGES = ("python3-venv", "postgresql", "redis-server", "tini")
# What of the repository the image carries (the platform, its labs and pages).
APP_PATHS = (
    "manage.py",
    "pyproject.toml",
    "platform",
    "graders",
    "downstack_cli",
    "labs",
    "tracks",
    "templates",
    "static",
)
# The wheels are fetched by this Python, the same Debian build as the image's.
DEBIAN_PYTHON = "/usr/bin/python3"
VERSION_SCRIPT = "import platform; print(platform.python_version())"
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", "node_modules")

log = logging.getLogger("deploy.build")


def requirements() -> list[str]:
    """The platform's runtime dependencies, as pyproject.toml lists them."""
    with open(ROOT / "pyproject.toml", "rb") as handle:
        return list(tomllib.load(handle)["project"]["dependencies"])


def fetch_wheels(
    client: docker.DockerClient, base: str, into: Path, *, index_url: str | None
) -> None:
    """Wheels for every runtime dependency (and theirs), for the build to install offline.

    pip runs under this host's Debian python3, which must be the very version the base
    image has: the dependencies that environment markers choose (`python_full_version <
    "3.11.3"`, say) are then the image's. It is the one step that needs PyPI or a mirror
    (pip's own configuration applies, or `--pip-index`).
    """
    image_python = _image_python(client, base)
    host_python = subprocess.run(
        [DEBIAN_PYTHON, "-c", VERSION_SCRIPT], capture_output=True, text=True, check=False
    ).stdout.strip()
    if host_python != image_python:
        raise builder.BuildError(
            f"{DEBIAN_PYTHON} is Python {host_python or 'missing'} but the image has "
            f"{image_python}: fetch the wheels on a Debian {builder.SUITE} host"
        )
    into.mkdir(parents=True)
    wanted = requirements()
    (into / "requirements.txt").write_text("\n".join(wanted) + "\n")
    with tempfile.TemporaryDirectory(prefix="downstack-pip-") as venv:
        _run([DEBIAN_PYTHON, "-m", "venv", venv])
        command = [f"{venv}/bin/pip", "wheel", "--quiet", "--wheel-dir", str(into)]
        log.info("fetching wheels for %d dependencies with Python %s", len(wanted), image_python)
        _run(command + (["--index-url", index_url] if index_url else []) + wanted)


def _image_python(client: docker.DockerClient, base: str) -> str:
    output = client.containers.run(
        base, ["python3", "-c", VERSION_SCRIPT], network_mode="none", remove=True
    )
    return output.decode().strip()


def _run(command: list[str]) -> None:
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise builder.BuildError(f"{' '.join(command[:2])} failed:\n{completed.stderr[-2000:]}")


def write_context(
    client: docker.DockerClient, base: str, context: Path, *, index_url: str | None
) -> str:
    """Fill the build context; return the hash of everything in it."""
    for name in APP_PATHS:
        source = ROOT / name
        target = context / "app" / name
        if source.is_dir():
            shutil.copytree(source, target, ignore=IGNORED)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    for name in ("Dockerfile", "entrypoint.sh"):
        shutil.copy2(ROOT / "deploy" / "image" / name, context / name)
    fetch_wheels(client, base, context / "wheels", index_url=index_url)
    digest = hashlib.sha256()
    for path in sorted(p for p in context.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(context)).encode() + b"\0")
        # A wheel's name carries its version; its bytes differ from build to build.
        if path.suffix != ".whl":
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def build_server(client: docker.DockerClient, *, mirror: str | None, index_url: str | None) -> str:
    """Make sure downstack/server for this checkout exists; return its content tag."""
    base = builder.ensure_offline_base(client, mirror=mirror, packages=PACKAGES)
    with tempfile.TemporaryDirectory(prefix="downstack-server-") as tmp:
        context = Path(tmp)
        tag = f"{REPOSITORY}:{write_context(client, base, context, index_url=index_url)}"
        if builder.image_exists(client, tag):
            log.info("%s already built, nothing to do", tag)
        else:
            log.info("building %s on %s", tag, base)
            try:
                client.images.build(
                    path=str(context),
                    tag=tag,
                    buildargs={"BASE": base},
                    network_mode="none",
                    rm=True,
                    forcerm=True,
                    labels={"org.downstack.base": base},
                )
            except docker.errors.BuildError as exc:
                tail = "\n".join(builder.log_lines(exc.build_log)[-20:])
                raise builder.BuildError(f"building {tag} failed: {exc.msg}\n{tail}") from exc
    client.images.get(tag).tag(REPOSITORY, "latest")
    log.info("%s is %s:latest", tag, REPOSITORY)
    return tag


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mirror", help="Debian mirror for debootstrap (default: apt's)")
    parser.add_argument("--pip-index", help="Python package index for the wheels (default: pip's)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="deploy: %(message)s")
    try:
        client = docker.from_env()
        client.ping()
        builder.build_all(source="offline", mirror=args.mirror, client=client)
        print(build_server(client, mirror=args.mirror, index_url=args.pip_index))  # noqa: T201
    except (builder.BuildError, docker.errors.DockerException) as exc:
        print(f"deploy: error: {exc}", file=sys.stderr)  # noqa: T201
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
