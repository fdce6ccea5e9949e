"""`labs check` for every lab in the repository, through the real sandbox.

Marked `labs` so it can run alone: `pytest -m labs`. LABS_CHECK_RUNS sets the runs per
submission (default 1 here; `make check-labs` runs the command's default of 3).
"""

import os
from pathlib import Path

import pytest
from django.core.management import call_command

LABS = Path(__file__).resolve().parents[2] / "labs"
SLUGS = sorted(p.name for p in LABS.iterdir() if (p / "lab.toml").is_file())


@pytest.mark.docker
@pytest.mark.labs
@pytest.mark.parametrize("slug", SLUGS)
def test_lab_grades_right(slug, capsys, grader_image):
    runs = os.environ.get("LABS_CHECK_RUNS", "1")
    call_command("labs", "check", slug, "--runs", runs)
    assert "labs check passed (1 lab(s))" in capsys.readouterr().out
