#!/usr/bin/env python
"""Django's command-line entry point; puts platform/ on sys.path."""

import os
import sys
from pathlib import Path


def main() -> None:
    root = Path(__file__).resolve().parent
    # platform/ is not a package (it would shadow the standard library's `platform`),
    # so its apps are importable only with the folder itself on the path.
    sys.path.insert(0, str(root / "platform"))
    sys.path.insert(1, str(root))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "downstack.settings")
    from django.conf import settings
    from django.core.management import execute_from_command_line

    # Django's command runner swallows a settings error so that startproject works
    # without one; here a bad environment variable must stop the command loudly.
    settings.INSTALLED_APPS  # noqa: B018
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
