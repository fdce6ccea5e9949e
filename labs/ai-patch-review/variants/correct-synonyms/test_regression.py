# Plain asserts, run on import: the backoff schedule and where a given-up message ends.
from relay import ConnectionPool, Dispatcher, Outbox, RetryPolicy

policy = RetryPolicy(base_s=0.25, factor=4.0, max_delay_s=5.0)
assert [policy.delay(n) for n in (1, 2, 3)] == [0.25, 1.0, 4.0], "backoff schedule"
assert policy.delay(4) == 5.0, "backoff cap"


class AlwaysUnavailable:
    def post(self, path, body):
        return 503

    def close(self):
        pass


now = [50.0]
outbox = Outbox(clock=lambda: now[0])
dispatcher = Dispatcher(
    outbox, ConnectionPool(AlwaysUnavailable, size=1), policy=RetryPolicy(max_attempts=2)
)
outbox.put("m1", "/hook", b"{}")
for _ in range(4):
    dispatcher.run_once()
    now[0] += 100.0
assert [m.id for m in outbox.dead_letters()] == ["m1"], outbox.stats()
assert outbox.stats()["inflight"] == 0, outbox.stats()
