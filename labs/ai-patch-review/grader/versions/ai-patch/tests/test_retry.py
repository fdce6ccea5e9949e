import unittest

from relay.retry import RetryPolicy


class RetryPolicyTest(unittest.TestCase):
    def test_delay_grows_with_each_attempt(self):
        policy = RetryPolicy()
        delays = [policy.delay(n) for n in range(1, 5)]
        self.assertEqual(delays, sorted(delays))
        self.assertLess(delays[0], delays[-1])

    def test_delay_is_capped(self):
        policy = RetryPolicy(max_delay_s=10.0)
        self.assertEqual(policy.delay(50), 10.0)

    def test_rejects_nonsense(self):
        with self.assertRaises(ValueError):
            RetryPolicy(max_attempts=0)
        with self.assertRaises(ValueError):
            RetryPolicy(factor=0.5)


if __name__ == "__main__":
    unittest.main()
