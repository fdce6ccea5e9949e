"""Regression tests for PR #42 ("Retry failed webhook deliveries with backoff").

Each test pins down behaviour the PR description and the docstrings promise, through the
public API only, so that it passes on any correct implementation. On the PR as submitted
all but one fail; that one guards against a tempting wrong fix of the heap (pushing the
retry with its delay instead of its due time).
"""

import unittest

from relay import ConnectionPool, Dispatcher, Outbox, RetryPolicy


class Clock:
    def __init__(self, now=1000.0):
        self.now = now

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


class Receiver:
    """Answers POSTs from a script of outcomes (a status or an exception), then 200s.

    Its connections behave like HttpConnection: once closed, post() raises.
    """

    def __init__(self, *outcomes):
        self.outcomes = list(outcomes)
        self.requests = 0
        self.connections = []

    def connect(self):
        receiver = self

        class Connection:
            closed = False

            def post(self, path, body):
                if self.closed:
                    raise ConnectionError("post() on a closed connection")
                receiver.requests += 1
                outcome = receiver.outcomes.pop(0) if receiver.outcomes else 200
                if isinstance(outcome, BaseException):
                    raise outcome
                return outcome

            def close(self):
                self.closed = True

        conn = Connection()
        self.connections.append(conn)
        return conn


def relay_with(receiver, *, pool_size=2, policy=None):
    clock = Clock()
    outbox = Outbox(clock=clock)
    pool = ConnectionPool(receiver.connect, size=pool_size)
    dispatcher = Dispatcher(outbox, pool, policy=policy, acquire_timeout_s=0.05)
    return clock, outbox, dispatcher


class BackoffTest(unittest.TestCase):
    def test_default_waits_are_half_a_second_then_doubling(self):
        policy = RetryPolicy()
        self.assertEqual([policy.delay(n) for n in (1, 2, 3, 4)], [0.5, 1.0, 2.0, 4.0])

    def test_waits_follow_base_factor_and_cap(self):
        policy = RetryPolicy(base_s=1.0, factor=3.0, max_delay_s=20.0)
        self.assertEqual([policy.delay(n) for n in (1, 2, 3, 4)], [1.0, 3.0, 9.0, 20.0])

    def test_first_retry_is_due_after_base_s(self):
        clock, outbox, dispatcher = relay_with(Receiver(503))
        outbox.put("a", "/hook", b"{}")
        dispatcher.run_once()
        clock.advance(0.49)
        self.assertEqual(dispatcher.run_once(), 0)
        clock.advance(0.01)
        self.assertEqual(dispatcher.run_once(), 1)
        self.assertEqual(outbox.stats()["delivered"], 1)


class GiveUpTest(unittest.TestCase):
    def test_message_failing_every_attempt_ends_in_dead_letters(self):
        receiver = Receiver(*[503] * 10)
        clock, outbox, dispatcher = relay_with(receiver, policy=RetryPolicy(max_attempts=3))
        outbox.put("a", "/hook", b"{}")
        for _ in range(6):
            dispatcher.run_once()
            clock.advance(60)
        self.assertEqual(receiver.requests, 3)
        self.assertEqual([m.id for m in outbox.dead_letters()], ["a"])
        self.assertEqual(outbox.stats(), {"pending": 0, "inflight": 0, "dead": 1, "delivered": 0})


class RetryOrderTest(unittest.TestCase):
    def test_a_retry_is_not_due_before_its_delay(self):
        clock = Clock()
        outbox = Outbox(clock=clock)
        outbox.put("a", "/hook", b"{}")
        outbox.claim(1)
        outbox.retry_later("a", 5.0, "HTTP 503")
        clock.advance(4.9)
        self.assertEqual(outbox.claim(10), [])
        clock.advance(0.1)
        self.assertEqual([m.id for m in outbox.claim(10)], ["a"])

    def test_earliest_due_retry_is_claimed_even_behind_a_later_one(self):
        clock = Clock()
        outbox = Outbox(clock=clock)
        outbox.put("a", "/hook", b"{}")
        outbox.put("b", "/hook", b"{}")
        outbox.claim(2)
        outbox.retry_later("a", 10.0, "HTTP 503")
        outbox.retry_later("b", 1.0, "HTTP 503")
        clock.advance(2)
        self.assertEqual([m.id for m in outbox.claim(10)], ["b"])


class BrokenConnectionTest(unittest.TestCase):
    def test_connection_errors_do_not_use_up_the_pool(self):
        receiver = Receiver(*[ConnectionResetError("reset")] * 3)
        clock, outbox, dispatcher = relay_with(receiver, pool_size=1)
        for name in "abcd":
            outbox.put(name, "/hook", b"{}")
        for _ in range(5):
            dispatcher.run_once()
            clock.advance(60)
        self.assertEqual(outbox.stats()["delivered"], 4)
        self.assertTrue(all(conn.closed for conn in receiver.connections[:-1]))


if __name__ == "__main__":
    unittest.main()
