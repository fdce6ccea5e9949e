"""The catalog API's retry and admission policy: a circuit breaker in the client library,
and queueing-delay (CoDel-style) load shedding in the backend.

The client library sends every first attempt with a deadline of its own and retries a
failed one after a jittered, capped exponential backoff, unless its breaker is open: when
most of the recent attempts failed, retries stop for a while, and a single probe retry
at a time decides whether to close it again. The backend refuses new work whenever the
oldest queued attempt has already waited longer than a target: a queue that has stood
that long is not absorbing a burst, it is a standing queue.
"""

import json
import sys

TIMEOUT_MS = 500
BACKOFF_BASE_MS = 40
BACKOFF_CAP_MS = 800
# The breaker judges whole seconds, so that a batch job's burst (a tick of refusals) does
# not open it: it opens when each of the last SUSTAINED_S seconds had at least
# TRIP_FAILURES failed attempts, and at least TRIP_SHARE of its attempts failed.
SUSTAINED_S = 2
TRIP_FAILURES = 20
TRIP_SHARE = 0.2  # of the second's attempts
RETRIES = 4  # at most, per request
OPEN_MS = 1000  # how long an open breaker refuses retries before it lets a probe through
SOJOURN_TARGET_MS = 100  # the queueing delay a burst may cause
INTERVAL_MS = 500  # how long it may stay above the target before the queue counts as standing


class Client:
    """The client library: a breaker on retries, backoff with full jitter, deadlines."""

    def __init__(self, init: dict) -> None:
        self.second = 0
        self.counts = [0, 0]  # this second's [successes, failures]
        self.bad_seconds = 0  # how many seconds in a row went badly
        self.open_until = -1  # -1: closed
        self.probe_out = False

    def breaker_allows(self, now: int) -> bool:
        if self.open_until < 0:
            return True
        if now >= self.open_until and not self.probe_out:
            self.probe_out = True  # half-open: one retry finds out
            return True
        return False

    def record(self, now: int, failed: bool) -> None:
        if now // 1000 != self.second:
            ok, bad = self.counts
            went_badly = (
                bad >= max(TRIP_FAILURES, TRIP_SHARE * (ok + bad))
                and now // 1000 == self.second + 1
            )
            self.bad_seconds = self.bad_seconds + 1 if went_badly else 0
            self.second, self.counts = now // 1000, [0, 0]
        self.counts[failed] += 1
        if self.open_until >= 0:
            if self.probe_out and now >= self.open_until:
                self.probe_out = False
                self.open_until = now + OPEN_MS if failed else -1
            return
        if self.bad_seconds >= SUSTAINED_S:
            self.open_until = now + OPEN_MS

    def attempt(self, now: int, delay_ms: int, deadline: int) -> dict | None:
        send_at = now + delay_ms
        if send_at + 50 >= deadline:
            return None
        expires = min(deadline, send_at + TIMEOUT_MS)
        return {"delay_ms": delay_ms, "timeout_ms": expires - send_at, "deadline": expires}

    def on_request(self, now: int, event: dict) -> dict | None:
        return self.attempt(now, 0, event["deadline"])

    def on_failure(self, now: int, event: dict) -> dict | None:
        self.record(now, True)
        if event["attempt"] > RETRIES or not self.breaker_allows(now):
            return None
        ceiling = min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** event["attempt"])
        return self.attempt(now, round(event["rand"] * ceiling), event["deadline"])

    def on_success(self, now: int, event: dict) -> None:
        self.record(now, False)


class Server:
    """Admission control on queueing delay, as CoDel judges a queue: a burst may queue, but
    once the oldest attempt has waited longer than the target for a whole interval, the
    queue is standing, and new work is refused until it drains below the target."""

    def __init__(self, init: dict) -> None:
        self.workers = init["workers"]
        self.above_since = -1  # when the queueing delay went above the target, or -1

    def admit(self, now: int, event: dict, server: dict) -> bool:
        if server["busy"] < self.workers:
            return True
        waited = server["oldest_ms"]
        if event["deadline"] is not None and now + waited >= event["deadline"]:
            return False  # it would wait at least as long as the head: past its deadline
        if waited <= SOJOURN_TARGET_MS:
            self.above_since = -1
            return True
        if self.above_since < 0:
            self.above_since = now
        return now - self.above_since < INTERVAL_MS

    def on_done(self, now: int, event: dict) -> None:
        """Nothing to learn: the queue's own age says how the backend keeps up."""


# -- the protocol: keep this part working ----------------------------------------------


class Policy:
    """One process of the policy: the role it was given, fed one tick at a time."""

    def __init__(self) -> None:
        self.role = None
        self.workers = 0

    def handle(self, message: dict) -> dict:
        if message["type"] == "init":
            self.role = Client(message) if message["role"] == "client" else Server(message)
            self.workers = message["workers"]
            return {"answers": []}
        now = message["now"]
        if isinstance(self.role, Client):
            for event in message["seen"]:
                self.role.on_success(now, event)
            answers = [
                self.role.on_request(now, event)
                if event["kind"] == "request"
                else self.role.on_failure(now, event)
                for event in message["decide"]
            ]
        else:
            for event in message["seen"]:
                self.role.on_done(now, event)
            server = message["server"]
            answers = []
            for event in message["decide"]:
                admitted = self.role.admit(now, event, server)
                answers.append(admitted)
                # The next attempt of the same tick finds this one at a worker or queued.
                if admitted and server["busy"] < self.workers:
                    server["busy"] += 1
                elif admitted:
                    server["queue"] += 1
        return {"answers": answers}


def main() -> None:
    policy = Policy()
    for line in sys.stdin:
        reply = policy.handle(json.loads(line))
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
