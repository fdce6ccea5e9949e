import unittest

from relay.dispatcher import Dispatcher
from relay.outbox import Outbox
from relay.pool import ConnectionPool

from tests.fakes import FakeClock, FakeReceiver


def make(receiver, *, size=2):
    outbox = Outbox(clock=FakeClock())
    pool = ConnectionPool(receiver.connect, size=size)
    return outbox, Dispatcher(outbox, pool, acquire_timeout_s=0.01)


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
        outbox, dispatcher = make(receiver, size=1)
        outbox.put("a", "/hook", b"{}")
        outbox.put("b", "/hook", b"{}")
        dispatcher.run_once()
        self.assertEqual(outbox.stats()["delivered"], 1)
        self.assertEqual(len(receiver.connections), 2)


if __name__ == "__main__":
    unittest.main()
