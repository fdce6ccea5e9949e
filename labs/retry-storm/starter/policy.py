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

TIMEOUT_MS = 1000
RETRIES = 3


class Client:
    """The client library: the same code in every app server, one request at a time."""

    def __init__(self, init: dict) -> None:
        self.deadline_ms = init["deadline_ms"]

    def on_request(self, now: int, event: dict) -> dict | None:
        """A user request arrived: the first attempt (or None to fail it at once)."""
        return {"delay_ms": 0, "timeout_ms": TIMEOUT_MS}

    def on_failure(self, now: int, event: dict) -> dict | None:
        """An attempt failed ("timeout", "overloaded" or "error"): try again, or None."""
        if event["attempt"] > RETRIES:
            return None
        # Try again right away: the user is waiting.
        return {"delay_ms": 0, "timeout_ms": TIMEOUT_MS}

    def on_success(self, now: int, event: dict) -> None:
        """An attempt succeeded (news only: nothing to decide)."""


class Server:
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
