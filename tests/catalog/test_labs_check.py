"""`labs check` in the real sandbox: passes for a good lab, fails loudly for a wrong one."""

import pytest
from django.core.management import CommandError, call_command

from tests.conftest import write_lab

pytestmark = pytest.mark.docker

SCORING_CHECKER = """
    import json, os, subprocess
    from downstack_harness import Grader

    g = Grader()
    run = g.run_learner(["python3", "main.py"], timeout_s=5)
    said = run.stdout.decode().strip()
    g.check("prints solution", said == "solution", output=f"printed {said!r}")
    g.emit()
"""


def test_labs_check_fails_when_a_variant_lands_outside_its_range(labs_dir, capsys, grader_image):
    path = write_lab(
        labs_dir,
        "wrong-range",
        SCORING_CHECKER,
        extra_toml="\n[variants.also-right]\nmin_score = 0\nmax_score = 0\n",
    )
    (path / "variants" / "also-right").mkdir(parents=True)
    (path / "variants" / "also-right" / "main.py").write_text("print('solution')\n")
    with pytest.raises(CommandError, match="wrong-range variant also-right"):
        call_command("labs", "check", "wrong-range", "--runs", "2")
    assert "got 1, expected 0..0" in capsys.readouterr().out


def test_labs_check_fails_when_the_reference_misses_full_marks(labs_dir, capsys, grader_image):
    path = write_lab(labs_dir, "bad-reference", SCORING_CHECKER)
    (path / "solution" / "main.py").write_text("print('nearly')\n")
    with pytest.raises(CommandError, match="bad-reference reference"):
        call_command("labs", "check", "bad-reference", "--runs", "1")
    assert "expected full marks" in capsys.readouterr().out


def test_labs_check_names_an_unknown_lab(labs_dir):
    with pytest.raises(CommandError, match="no lab named 'nope'"):
        call_command("labs", "check", "nope")


def test_labs_check_fails_when_scores_differ_between_runs(labs_dir, capsys, grader_image):
    checker = """
        import random
        from downstack_harness import Grader

        g = Grader()
        said = g.run_learner(["python3", "main.py"], timeout_s=5).stdout.decode().strip()
        if said == "solution":
            g.check("right", True)
        else:
            g.check("flaky", False, score=round(random.random(), 6), max_score=1.0)
        g.emit()
    """
    write_lab(labs_dir, "flaky", checker, extra_toml="\n[starter]\nmin_score = 0\nmax_score = 1\n")
    with pytest.raises(CommandError, match="flaky starter"):
        call_command("labs", "check", "flaky", "--runs", "3")
    assert "scores differ between runs" in capsys.readouterr().out
