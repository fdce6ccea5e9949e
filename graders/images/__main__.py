"""Command line for grader images: ``python -m graders.images build`` and ``... tag``."""

from __future__ import annotations

import argparse
import logging
import sys

from graders.images import families, image_tag
from graders.images.builder import (
    MIRROR_ENV,
    SOURCE_ENV,
    BuildError,
    build,
    build_all,
    default_source,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m graders.images",
        description="Build and name the Docker images that lab checkers run in.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    build_cmd = commands.add_parser(
        "build",
        help="build a grader image (skips whatever already exists)",
        description=(
            "Build the grader image of a family and tag it with its content tag and :latest. "
            "--offline builds the base from Debian packages with debootstrap (needs root and "
            "the host's apt mirror, no container registry); --registry pulls python:3.11-slim. "
            f"Without either, {SOURCE_ENV} decides, and it defaults to offline."
        ),
    )
    source = build_cmd.add_mutually_exclusive_group()
    source.add_argument(
        "--offline",
        dest="source",
        action="store_const",
        const="offline",
        help="base image from debootstrap + docker import (default)",
    )
    source.add_argument(
        "--registry",
        dest="source",
        action="store_const",
        const="registry",
        help="base image pulled from a container registry",
    )
    which = build_cmd.add_mutually_exclusive_group()
    which.add_argument(
        "--family",
        default="python",
        help=f"image family (default: python; known: {', '.join(families())})",
    )
    which.add_argument("--all", action="store_true", help="build every image family")
    build_cmd.add_argument(
        "--mirror",
        help=f"Debian mirror URL for --offline (default: {MIRROR_ENV}, else the apt sources)",
    )
    build_cmd.add_argument(
        "--force", action="store_true", help="rebuild even if the images already exist"
    )
    build_cmd.add_argument("-v", "--verbose", action="store_true", help="show the build log")

    tag_cmd = commands.add_parser("tag", help="print the content tag of a family's image")
    tag_cmd.add_argument("--family", default="python", help="image family (default: python)")

    args = parser.parse_args(argv)
    try:
        if args.command == "tag":
            print(image_tag(args.family))
            return 0
        logging.basicConfig(
            level=logging.INFO, format="graders.images: %(message)s", stream=sys.stdout
        )
        if args.verbose:  # our own build log, not the HTTP chatter of the libraries below
            logging.getLogger("graders").setLevel(logging.DEBUG)
        options = {"source": args.source or default_source(), "mirror": args.mirror}
        if args.all:
            build_all(**options, force=args.force)
        else:
            build(family=args.family, **options, force=args.force)
    except (BuildError, ValueError) as exc:
        print(f"graders.images: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
