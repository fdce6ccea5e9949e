"""Regression tests for PR #42: the pool survives broken connections, retries come due."""

import unittest

from relay import ConnectionPool, Dispatcher, Outbox


class FlakyConnection:
    """Fails its first post with a reset; refuses to post once closed, like HttpConnection."""

    made = []

    def __init__(self):
        self.closed = False
        self.posts = 0
        FlakyConnection.made.append(self)

    def post(self, path, body):
        if self.closed:
            raise ConnectionError("closed")
        self.posts += 1
        if len(FlakyConnection.made) == 1 and self.posts == 1:
            raise ConnectionResetError("reset by peer")
        return 204

    def close(self):
        self.closed = True


class PoolTest(unittest.TestCase):
    def setUp(self):
        FlakyConnection.made = []

    def test_a_reset_connection_is_replaced_not_lost(self):
        t = [0.0]
        outbox = Outbox(clock=lambda: t[0])
        pool = ConnectionPool(FlakyConnection, size=1)
        dispatcher = Dispatcher(outbox, pool, acquire_timeout_s=0.05)
        outbox.put("x", "/hook", b"{}")
        outbox.put("y", "/hook", b"{}")
        for _ in range(3):
            dispatcher.run_once()
            t[0] += 10
        self.assertEqual(outbox.stats()["delivered"], 2)
        self.assertEqual(len(FlakyConnection.made), 2)
        self.assertTrue(FlakyConnection.made[0].closed)


class DueOrderTest(unittest.TestCase):
    def test_short_retry_is_not_stuck_behind_a_long_one(self):
        t = [0.0]
        outbox = Outbox(clock=lambda: t[0])
        for name in ("slow", "fast", "third"):
            outbox.put(name, "/hook", b"{}")
        outbox.claim(3)
        outbox.retry_later("slow", 30.0, "HTTP 503")
        outbox.retry_later("fast", 2.0, "HTTP 503")
        outbox.retry_later("third", 3.0, "HTTP 503")
        t[0] = 5.0
        self.assertEqual(sorted(m.id for m in outbox.claim(10)), ["fast", "third"])


if __name__ == "__main__":
    unittest.main()
