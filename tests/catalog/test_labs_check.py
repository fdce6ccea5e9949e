"""`labs check` in the real sandbox: passes for a good lab, fails loudly for a wrong one."""

import re

import pytest
from django.core.management import CommandError, call_command

from catalog.labcheck import CaseOutcome, closest_cheat, further_seeds
from catalog.labfiles import Expectation
from tests.conftest import write_lab

# The learner runs in these checkers print one line; their 15 s (under the scratch lab's
# 20 s) is there for a hang only, never reached by a slow or busy machine.
SCORING_CHECKER = """
    import json, os, subprocess
    from downstack_harness import Grader

    g = Grader()
    run = g.run_learner(["python3", "main.py"], timeout_s=15)
    said = run.stdout.decode().strip()
    g.check("prints solution", said == "solution", output=f"printed {said!r}")
    g.emit()
"""


@pytest.mark.docker
def test_labs_check_fails_when_a_variant_lands_outside_its_range(labs_dir, capsys, grader_image):
    path = write_lab(
        labs_dir,
        "wrong-range",
        SCORING_CHECKER,
        extra_toml='\n[variants.also-right]\nbase = "starter"\nmin_score = 0\nmax_score = 0\n',
    )
    (path / "variants" / "also-right").mkdir(parents=True)
    (path / "variants" / "also-right" / "main.py").write_text("print('solution')\n")
    with pytest.raises(CommandError, match="wrong-range variant also-right"):
        call_command("labs", "check", "wrong-range", "--runs", "2")
    out = capsys.readouterr().out
    assert "got 1, expected 0..0" in out
    assert (
        "closest wrong submission: variant also-right reached 1 of 1 (100% of full marks; "
        "its range 0..0, 1 above its ceiling)"
    ) in out


@pytest.mark.docker
def test_labs_check_fails_when_the_reference_misses_full_marks(labs_dir, capsys, grader_image):
    path = write_lab(labs_dir, "bad-reference", SCORING_CHECKER)
    (path / "solution" / "main.py").write_text("print('nearly')\n")
    with pytest.raises(CommandError, match="bad-reference reference"):
        call_command("labs", "check", "bad-reference", "--runs", "1")
    assert "expected full marks" in capsys.readouterr().out


def test_labs_check_names_an_unknown_lab(labs_dir):
    with pytest.raises(CommandError, match="no lab named 'nope'"):
        call_command("labs", "check", "nope")


@pytest.mark.docker
def test_labs_check_fails_when_scores_differ_between_runs(labs_dir, capsys, grader_image):
    checker = """
        import random
        from downstack_harness import Grader

        g = Grader()
        said = g.run_learner(["python3", "main.py"], timeout_s=15).stdout.decode().strip()
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


@pytest.mark.docker
def test_labs_check_prints_every_runs_time(labs_dir, capsys, grader_image):
    write_lab(labs_dir, "timed", SCORING_CHECKER)
    call_command("labs", "check", "timed", "--runs", "2")
    out = capsys.readouterr().out
    assert re.search(r"reference .* took \[\d+\.\ds, \d+\.\ds\]  ok", out), out
    assert re.search(r"starter .* took \[\d+\.\ds, \d+\.\ds\]  ok", out), out


@pytest.mark.docker
def test_labs_check_names_the_check_whose_score_changed(labs_dir, capsys, grader_image):
    checker = """
        import random
        from downstack_harness import Grader

        g = Grader()
        said = g.run_learner(["python3", "main.py"], timeout_s=15).stdout.decode().strip()
        g.check("steady", said == "solution")
        g.check("flaky", False, score=round(random.random(), 6), max_score=1.0)
        g.emit()
    """
    write_lab(
        labs_dir, "one-flaky", checker, extra_toml="\n[starter]\nmin_score = 0\nmax_score = 2\n"
    )
    with pytest.raises(CommandError, match="one-flaky starter"):
        call_command("labs", "check", "one-flaky", "--runs", "3")
    out = capsys.readouterr().out
    starter = next(line for line in out.splitlines() if line.strip().startswith("starter"))
    assert "not deterministic: check 'flaky' scored " in starter
    assert "'steady'" not in starter


@pytest.mark.docker
def test_labs_check_finds_checks_that_trade_points_with_equal_totals(
    labs_dir, capsys, grader_image
):
    # The total is the same every run; only comparing check by check shows the change.
    checker = """
        import random
        from downstack_harness import Grader

        g = Grader()
        said = g.run_learner(["python3", "main.py"], timeout_s=15).stdout.decode().strip()
        if said == "solution":
            g.check("right", True)
        else:
            left = random.randint(0, 1000)
            g.check("left", left == 1000, score=left, max_score=1000)
            g.check("rest", left == 0, score=1000 - left, max_score=1000)
        g.emit()
    """
    write_lab(
        labs_dir, "trading", checker, extra_toml="\n[starter]\nmin_score = 0\nmax_score = 2000\n"
    )
    with pytest.raises(CommandError, match="trading starter"):
        call_command("labs", "check", "trading", "--runs", "3")
    out = capsys.readouterr().out
    starter = next(line for line in out.splitlines() if line.strip().startswith("starter"))
    assert "got [1000, 1000, 1000]" in starter
    assert "scores differ" not in starter
    assert "not deterministic: check 'left' scored" in starter
    assert "check 'rest' scored" in starter


SEEDED = """
    import os
    from downstack_harness import Grader

    g = Grader()
    said = g.run_learner(["python3", "main.py"], timeout_s=15).stdout.decode().strip()
    seed = int(os.environ["DOWNSTACK_SEED"])
    works = said == "solution" and (seed == 5 or not os.path.exists("only_check_seed"))
    g.check("prints solution", works, output=f"seed {seed}")
    g.emit()
"""


@pytest.mark.docker
def test_labs_check_seeds_grades_the_reference_on_further_seeds(labs_dir, capsys, grader_image):
    write_lab(labs_dir, "seeded", SEEDED, extra_toml="\n[grader]\nseeded = true\ncheck_seed = 5\n")
    call_command("labs", "check", "seeded", "--runs", "1", "--seeds", "2")
    out = capsys.readouterr().out
    first, second = further_seeds(5, 2)
    assert (
        f"reference and correct variants on 2 further seed(s) from check_seed 5: {first}, {second}"
        in out
    )
    assert re.search(
        rf"reference, seed {first} +expected full marks outside seed-answer checks +got \[1\]", out
    ), out
    assert re.search(
        rf"reference, seed {second} +expected full marks outside seed-answer checks +got \[1\]", out
    ), out
    assert "labs check passed" in out


@pytest.mark.docker
def test_labs_check_seeds_fails_when_the_reference_needs_the_check_seed(
    labs_dir, capsys, grader_image
):
    path = write_lab(
        labs_dir, "overfit", SEEDED, extra_toml="\n[grader]\nseeded = true\ncheck_seed = 5\n"
    )
    (path / "grader" / "only_check_seed").write_text("the reference only works on seed 5\n")
    with pytest.raises(CommandError) as failure:
        call_command("labs", "check", "overfit", "--runs", "1", "--seeds", "2")
    first, second = further_seeds(5, 2)
    assert f"overfit reference, seed {first}" in str(failure.value)
    assert f"overfit reference, seed {second}" in str(failure.value)
    out = capsys.readouterr().out
    assert re.search(r"^  reference +expected full marks +got \[1\]", out, re.M), out


@pytest.mark.docker
def test_labs_check_seeds_also_tries_the_correct_variants_and_only_those(
    labs_dir, capsys, grader_image
):
    """With a checker that passes check_seed alone, the correct variant fails on the
    further seed as the reference does; the wrong variant is not tried there at all."""
    path = write_lab(labs_dir, "alternatives", SEEDED, extra_toml=_SEEDED_TOML + _CORRECT_AND_WRONG)
    for name, text in (("also-right", "print('solution')  # another way\n"), ("wrong", "x\n")):
        (path / "variants" / name).mkdir(parents=True)
        (path / "variants" / name / "main.py").write_text(text)
    (path / "grader" / "only_check_seed").write_text("")  # now only seed 5 works
    with pytest.raises(CommandError) as failure:
        call_command("labs", "check", "alternatives", "--runs", "1", "--seeds", "1")
    (seed,) = further_seeds(5, 1)
    assert f"alternatives reference, seed {seed}" in str(failure.value)
    assert f"alternatives variant also-right, seed {seed}" in str(failure.value)
    out = capsys.readouterr().out
    assert f"variant wrong, seed {seed}" not in out


_SEEDED_TOML = "\n[grader]\nseeded = true\ncheck_seed = 5\n"
_CORRECT_AND_WRONG = """
[variants.also-right]
base = "solution"
min_score = 1
max_score = 1
description = "another correct one"

[variants.wrong]
base = "solution"
min_score = 0
max_score = 0
description = "a wrong one"
"""


@pytest.mark.docker
def test_labs_check_seeds_says_an_unseeded_lab_has_none(labs_dir, capsys, grader_image):
    write_lab(labs_dir, "plain", SCORING_CHECKER)
    call_command("labs", "check", "plain", "--runs", "1", "--seeds", "3")
    out = capsys.readouterr().out
    assert "this lab is not seeded, so there are no seeds to vary" in out
    assert "seed " not in out.replace("seeded", "")


def test_further_seeds_are_fixed_by_the_check_seed_and_avoid_it():
    seeds = further_seeds(5, 20)
    assert seeds == further_seeds(5, 20)
    assert seeds[:3] == further_seeds(5, 3)
    assert seeds != further_seeds(6, 20)
    assert 5 not in seeds and len(set(seeds)) == 20
    assert all(0 <= seed <= 2**31 - 1 for seed in seeds)


SEED_ANSWER = """
    import os
    from downstack_harness import Grader

    g = Grader()
    seed = int(os.environ["DOWNSTACK_SEED"])
    said = g.run_learner(["python3", "main.py"], timeout_s=15).stdout.decode().strip()
    right = said == "solution"
    # The solution's answer was worked out for check_seed 5, as a learner works theirs out.
    g.check("answer for my seed", right and seed == 5, max_score=2, tags=("seed-answer",))
    overfit = os.path.exists("code_needs_seed_5")
    g.check("the code", right and (seed == 5 or not overfit))
    g.emit()
"""


@pytest.mark.docker
def test_labs_check_seeds_leaves_out_checks_of_answers_for_one_seed(labs_dir, capsys, grader_image):
    toml = "\n[grader]\nseeded = true\ncheck_seed = 5\n"
    write_lab(labs_dir, "answers", SEED_ANSWER, extra_toml=toml)
    call_command("labs", "check", "answers", "--runs", "1", "--seeds", "2")
    assert "labs check passed" in capsys.readouterr().out

    path = write_lab(labs_dir, "overfit-code", SEED_ANSWER, extra_toml=toml)
    (path / "grader" / "code_needs_seed_5").write_text("")
    with pytest.raises(CommandError, match="overfit-code reference, seed"):
        call_command("labs", "check", "overfit-code", "--runs", "1", "--seeds", "2")
    assert "missed 'the code' (0/1)" in capsys.readouterr().out


def _outcome(name, scores, low=None, high=None, max_score=10.0):
    expectation = None
    if high is not None:
        expectation = Expectation(name=name, min_score=low, max_score=high, description="")
    expected = "full marks" if expectation is None else f"{low:g}..{high:g}"
    return CaseOutcome(
        name=name,
        expected=expected,
        expectation=expectation,
        max_score=max_score,
        scores=scores,
    )


def test_closest_cheat_names_the_wrong_submission_nearest_full_marks():
    line = closest_cheat(
        [
            _outcome("reference", [10.0, 10.0]),
            _outcome("starter", [0.0, 0.0], 0, 1),
            _outcome("variant replay", [2.0, 1.5], 0, 2),
            _outcome("variant half-fix", [6.0, 6.0], 6, 7),
            # Correct variants (a range up to full marks) are not cheats, and a grader
            # error has no score to compare.
            _outcome("variant correct-other", [10.0], 10, 10),
            _outcome("variant broken", [None], 0, 9),
        ]
    )
    assert "variant half-fix reached 6 of 10 (60% of full marks" in line
    assert "its range 6..7, 1 below its ceiling" in line


def test_closest_cheat_says_when_a_cheat_sits_at_its_ceiling_or_there_is_none():
    at_ceiling = closest_cheat(
        [_outcome("reference", [10.0]), _outcome("starter", [1.0, 1.0], 0, 1)]
    )
    assert "starter reached 1 of 10 (10% of full marks; its range 0..1, at its ceiling)" in (
        at_ceiling
    )
    assert "none (every variant is a correct one)" in closest_cheat(
        [_outcome("reference", [10.0]), _outcome("variant correct", [10.0], 10, 10)]
    )
    assert "none scored" in closest_cheat([_outcome("reference", [None], max_score=None)])


HANGS_ON_TWO = b"import time\nn = int(input())\nif n == 2:\n    time.sleep(3600)\nprint(n * 2)\n"


@pytest.mark.docker
def test_labs_check_scores_a_time_out_as_grading_does(labs_dir, capsys, grader_image):
    checker = """
        from downstack_harness import Grader

        g = Grader()
        for n in (1, 2):
            g.expect(f"case {n}")
        for n in (1, 2):
            g.running(f"case {n}")
            run = g.run_learner(["python3", "main.py"], input=str(n).encode(), timeout_s=600)
            g.check(f"case {n}", run.stdout.strip() == str(2 * n).encode())
        g.emit()
    """
    # The starter answers case 1 and hangs on case 2 until the lab's 8 s are up: the
    # check it passed stands, so it gets 1 of 2, not 0.
    path = write_lab(
        labs_dir,
        "hangs",
        checker,
        timeout_s=8,
        extra_toml="\n[starter]\nmin_score = 1\nmax_score = 1\n",
    )
    (path / "solution" / "main.py").write_text("print(int(input()) * 2)\n")
    (path / "starter" / "main.py").write_bytes(HANGS_ON_TWO)
    call_command("labs", "check", "hangs", "--runs", "1")
    out = capsys.readouterr().out
    assert "starter" in out and "got [1]" in out
