"""Your regression test for PR #42: it must fail on the PR and pass on a correct fix.

Run it with:  python3 run_regression.py pr-head   (after python3 apply_pr.py)

Use the public API of relay (what relay/__init__.py exports) and the standard library.
Plain module-level asserts work too.
"""

import unittest

import relay  # noqa: F401  (the package under test)


class RegressionTest(unittest.TestCase):
    def test_something_the_pr_gets_wrong(self):
        self.skipTest("write me")


if __name__ == "__main__":
    unittest.main()
