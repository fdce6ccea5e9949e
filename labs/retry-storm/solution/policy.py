"""The catalog API's retry and admission policy: the client library's and the backend's.

The client library decides, for every user request, whether to send an attempt, how
long to wait for it and which deadline to pass on with it, and after every failed
attempt whether and when to try again. The backend's admission control decides, for
every attempt that reaches it, whether to queue it for a worker or refuse it at once.

The simulator runs this file twice, as two processes: one is the client library, the
other the backend (the `role` in the `init` message). Each tick (10 ms of simulated
time) it sends one JSON line with everything that role must decide since the last
tick, and reads back one line with the answers, in the same order (see the README for
the protocol). The policy has no clock but `now` and no randomness but the `rand` in
every event, so that a seed replays exactly.
"""

import json
import sys

TIMEOUT_MS = 500  # a healthy attempt is answered in 250 ms at the 99.9th percentile
BACKOFF_BASE_MS = 50
BACKOFF_CAP_MS = 1000
# Retries may add a tenth to the requests, plus a few per second when traffic is thin;
# a burst of trouble may draw on up to BUDGET_CAP saved tokens.
BUDGET_RATIO = 0.1
BUDGET_PER_S = 5.0
BUDGET_CAP = 200.0
QUEUE_TARGET_MS = 200  # the longest queueing delay the backend takes new work for


class Client:
    """The client library: capped exponential backoff with full jitter, a retry budget,
    and the attempt's own timeout passed on as its deadline."""

    def __init__(self, init: dict) -> None:
        self.tokens = BUDGET_CAP
        self.last = 0

    def refill(self, now: int) -> None:
        self.tokens = min(BUDGET_CAP, self.tokens + (now - self.last) / 1000 * BUDGET_PER_S)
        self.last = now

    def attempt(self, now: int, delay_ms: float, deadline: int) -> dict | None:
        send_at = now + delay_ms
        if send_at + 50 >= deadline:
            return None  # no time left for an answer
        expires = min(deadline, round(send_at + TIMEOUT_MS))
        return {"delay_ms": delay_ms, "timeout_ms": expires - send_at, "deadline": expires}

    def on_request(self, now: int, event: dict) -> dict | None:
        self.refill(now)
        self.tokens = min(BUDGET_CAP, self.tokens + BUDGET_RATIO)
        return self.attempt(now, 0, event["deadline"])

    def on_failure(self, now: int, event: dict) -> dict | None:
        self.refill(now)
        if self.tokens < 1:
            return None
        self.tokens -= 1
        ceiling = min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (event["attempt"] - 1))
        return self.attempt(now, round(event["rand"] * ceiling), event["deadline"])

    def on_success(self, now: int, event: dict) -> None:
        """Nothing to learn from a success: the budget grows with requests."""


class Server:
    """Admission control: take new work only while it can start soon enough to matter."""

    def __init__(self, init: dict) -> None:
        self.workers = init["workers"]
        self.service_ms = 40.0  # a running average of how long an attempt takes

    def admit(self, now: int, event: dict, server: dict) -> bool:
        if server["busy"] < self.workers:
            # A free worker starts it now. Never refuse then: the running average only
            # learns that the backend is fast again from attempts it lets through.
            return True
        waits = server["queue"] * self.service_ms / self.workers
        deadline = event["deadline"]
        if deadline is None:
            return waits < QUEUE_TARGET_MS
        # Take it only if it can be answered before its client stops waiting.
        return now + waits + self.service_ms < deadline

    def on_done(self, now: int, event: dict) -> None:
        if event["kind"] == "done" and event["outcome"] == "ok":
            self.service_ms += (event["service_ms"] - self.service_ms) / 20


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
