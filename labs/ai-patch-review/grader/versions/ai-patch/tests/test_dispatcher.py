import unittest

from relay.dispatcher import Dispatcher
from relay.outbox import Outbox
from relay.pool import ConnectionPool
from relay.retry import RetryPolicy

from tests.fakes import FakeClock, FakeReceiver


def make(receiver, *, size=2, clock=None, policy=None):
    outbox = Outbox(clock=clock or FakeClock())
    pool = ConnectionPool(receiver.connect, size=size)
    return outbox, Dispatcher(outbox, pool, policy=policy, acquire_timeout_s=0.01)


class DispatcherTest(unittest.TestCase):
    def test_delivers_and_acks(self):
        receiver = FakeReceiver()
        outbox, dispatcher = make(receiver)
        outbox.put("a", "/hook", b'{"n": 1}')
        self.assertEqual(dispatcher.run_once(), 1)
        self.assertEqual(receiver.requests, [("/hook", b'{"n": 1}')])
        self.assertEqual(outbox.stats()["delivered"], 1)

    def test_refused_message_goes_to_dead_letters(self):
        outbox, dispatcher = make(FakeReceiver(422))
        outbox.put("a", "/hook", b"{}")
        dispatcher.run_once()
        self.assertEqual([m.last_error for m in outbox.dead_letters()], ["HTTP 422"])

    def test_broken_connection_is_not_reused(self):
        receiver = FakeReceiver(ConnectionResetError("reset"))
        outbox, dispatcher = make(receiver, size=2)
        outbox.put("a", "/hook", b"{}")
        outbox.put("b", "/hook", b"{}")
        dispatcher.run_once()
        self.assertEqual(outbox.stats()["delivered"], 1)
        self.assertEqual(len(receiver.connections), 2)
        self.assertTrue(receiver.connections[0].closed)

    def test_unavailable_receiver_is_retried_later(self):
        clock = FakeClock()
        outbox, dispatcher = make(FakeReceiver(503), clock=clock)
        outbox.put("a", "/hook", b"{}")
        dispatcher.run_once()
        self.assertEqual(outbox.stats()["pending"], 1)
        self.assertEqual(dispatcher.run_once(), 0)  # not due yet
        clock.advance(60)
        self.assertEqual(dispatcher.run_once(), 1)
        self.assertEqual(outbox.stats()["delivered"], 1)

    def test_retries_stop_after_max_attempts(self):
        clock = FakeClock()
        receiver = FakeReceiver(*[503] * 10)
        outbox, dispatcher = make(receiver, clock=clock, policy=RetryPolicy(max_attempts=3))
        outbox.put("a", "/hook", b"{}")
        for _ in range(6):
            dispatcher.run_once()
            clock.advance(60)
        self.assertEqual(len(receiver.requests), 3)


if __name__ == "__main__":
    unittest.main()
