"""Catches the heap bug, but by inspecting the outbox's private heap."""

import heapq
import unittest

from relay import Outbox


class RegressionTest(unittest.TestCase):
    def test_pending_stays_a_heap_after_retries(self):
        now = [1000.0]
        outbox = Outbox(clock=lambda: now[0])
        for name in "ab":
            outbox.put(name, "/hook", b"{}")
        outbox.claim(2)
        outbox.retry_later("a", 10.0, "HTTP 503")
        outbox.retry_later("b", 1.0, "HTTP 503")
        pending = list(outbox._pending)
        heapq.heapify(copy := list(pending))
        self.assertEqual(pending[0], copy[0])


if __name__ == "__main__":
    unittest.main()
