import threading
import unittest

from relay.pool import ConnectionPool, PoolTimeout

from tests.fakes import FakeReceiver


class PoolTest(unittest.TestCase):
    def test_reuses_released_connections(self):
        receiver = FakeReceiver()
        pool = ConnectionPool(receiver.connect, size=2)
        first = pool.acquire()
        pool.release(first)
        self.assertIs(pool.acquire(), first)
        self.assertEqual(len(receiver.connections), 1)

    def test_times_out_when_every_connection_is_lent(self):
        pool = ConnectionPool(FakeReceiver().connect, size=1)
        pool.acquire()
        with self.assertRaises(PoolTimeout):
            pool.acquire(timeout=0.01)

    def test_discard_frees_the_slot(self):
        receiver = FakeReceiver()
        pool = ConnectionPool(receiver.connect, size=1)
        broken = pool.acquire()
        pool.discard(broken)
        self.assertTrue(broken.closed)
        self.assertIsNot(pool.acquire(timeout=0.01), broken)

    def test_never_lends_more_than_size_connections(self):
        pool = ConnectionPool(FakeReceiver().connect, size=3)
        lent, peak, lock = [0], [0], threading.Lock()

        def borrow():
            for _ in range(200):
                conn = pool.acquire()
                with lock:
                    lent[0] += 1
                    peak[0] = max(peak[0], lent[0])
                with lock:
                    lent[0] -= 1
                pool.release(conn)

        threads = [threading.Thread(target=borrow) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertLessEqual(peak[0], 3)


if __name__ == "__main__":
    unittest.main()
