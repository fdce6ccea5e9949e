"""A regression test that fails whatever the code does (it pins a wrong expectation)."""

import unittest

from relay import RetryPolicy


class RegressionTest(unittest.TestCase):
    def test_first_retry_waits_zero_seconds(self):
        # Wrong reading of the spec: the first retry waits base_s, not nothing.
        self.assertEqual(RetryPolicy().delay(1), 0.0)


if __name__ == "__main__":
    unittest.main()
