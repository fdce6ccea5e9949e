"""A regression test that asserts nothing about the code: it passes everywhere."""

import unittest

import relay


class RegressionTest(unittest.TestCase):
    def test_package_imports(self):
        self.assertTrue(hasattr(relay, "Dispatcher"))


if __name__ == "__main__":
    unittest.main()
