"""A Gradescope-style unittest suite, written with gradescope-utils' decorators.

It grades a learner's ``solution`` module (``add``, ``mean``, ``shout``); make_results.py
runs it through gradescope-utils' own JSONTestRunner to produce the documents in
results/. It needs gradescope-utils, which Downstack does not install, so pytest never
imports it (its name does not match ``test_*.py``).
"""

import unittest

import solution  # type: ignore[import-not-found]
from gradescope_utils.autograder_utils.decorators import (  # type: ignore[import-not-found]
    number,
    partial_credit,
    tags,
    visibility,
    weight,
)

SHOUTED = {"hi": "HI!", "a b": "A B!", "": "!", "ok?": "OK?!"}


class TestSolution(unittest.TestCase):
    @weight(2)
    @number("1.1")
    def test_add(self) -> None:
        """add sums two numbers"""
        self.assertEqual(solution.add(2, 3), 5)

    @weight(3)
    @number("1.2")
    @visibility("after_due_date")
    def test_mean(self) -> None:
        """mean of a list"""
        self.assertAlmostEqual(solution.mean([1, 2, 3, 4]), 2.5)

    @partial_credit(4)
    @number("2.1")
    def test_shout(self, set_score=None) -> None:
        """shout, one point per case"""
        right = sum(solution.shout(text) == want for text, want in SHOUTED.items())
        set_score(4 * right / len(SHOUTED))
        self.assertEqual(right, len(SHOUTED))

    @weight(1)
    @number("2.2")
    @visibility("hidden")
    @tags("edge")
    def test_mean_of_one(self) -> None:
        """mean of a single value"""
        self.assertEqual(solution.mean([7]), 7)

    @number("3.1")
    def test_has_docstrings(self) -> None:
        """every function has a docstring (no points)"""
        for function in (solution.add, solution.mean, solution.shout):
            self.assertTrue(function.__doc__, f"{function.__name__} has no docstring")
