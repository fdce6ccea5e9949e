"""Waits for a connection that never comes back: acquire() without a timeout hangs."""

import unittest

from relay import ConnectionPool


class RegressionTest(unittest.TestCase):
    def test_second_acquire_waits_for_ever(self):
        pool = ConnectionPool(object, size=1)
        pool.acquire()
        pool.acquire()  # nobody releases: blocks until the grader stops it


if __name__ == "__main__":
    unittest.main()
