import unittest

from relay.outbox import Outbox, UnknownMessage

from tests.fakes import FakeClock


class OutboxTest(unittest.TestCase):
    def setUp(self):
        self.clock = FakeClock()
        self.outbox = Outbox(clock=self.clock)

    def test_claim_returns_due_messages_in_arrival_order(self):
        for name in "abc":
            self.outbox.put(name, "/hook", b"{}")
        self.assertEqual([m.id for m in self.outbox.claim(10)], ["a", "b", "c"])
        self.assertEqual(self.outbox.stats()["inflight"], 3)

    def test_claim_respects_the_limit(self):
        for name in "abc":
            self.outbox.put(name, "/hook", b"{}")
        self.assertEqual([m.id for m in self.outbox.claim(2)], ["a", "b"])
        self.assertEqual([m.id for m in self.outbox.claim(2)], ["c"])

    def test_ack_and_dead_settle_an_inflight_message(self):
        self.outbox.put("a", "/hook", b"{}")
        self.outbox.put("b", "/hook", b"{}")
        self.outbox.claim(2)
        self.outbox.ack("a")
        self.outbox.dead("b", "HTTP 400")
        self.assertEqual(
            self.outbox.stats(), {"pending": 0, "inflight": 0, "dead": 1, "delivered": 1}
        )
        self.assertEqual(self.outbox.dead_letters()[0].last_error, "HTTP 400")

    def test_settling_a_message_twice_is_an_error(self):
        self.outbox.put("a", "/hook", b"{}")
        self.outbox.claim(1)
        self.outbox.ack("a")
        with self.assertRaises(UnknownMessage):
            self.outbox.ack("a")

    def test_duplicate_ids_are_rejected(self):
        self.outbox.put("a", "/hook", b"{}")
        with self.assertRaises(ValueError):
            self.outbox.put("a", "/hook", b"{}")


if __name__ == "__main__":
    unittest.main()
