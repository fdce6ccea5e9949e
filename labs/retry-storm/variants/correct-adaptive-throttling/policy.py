"""The catalog API's retry and admission policy: adaptive throttling in the client library,
and a short bounded queue in the backend.

The client library counts, over the last WINDOW_S seconds, the attempts it wanted to
send and the ones the backend accepted, and refuses an attempt itself with probability

    max(0, (wanted - K x accepted) / (wanted + 1))

(the client-side throttling of Google's SRE book, "Handling Overload"): while the
backend accepts nearly everything that costs nothing, and when it stops accepting, the
clients stop sending the excess, retries first, as each failure is one more "wanted".
A failed attempt is retried after a jittered, capped exponential backoff. The backend
queues at most a short line of work and refuses the rest, and refuses any attempt whose
propagated deadline has already passed.
"""

import json
import sys

TIMEOUT_MS = 500
BACKOFF_BASE_MS = 50
BACKOFF_CAP_MS = 1000
RETRIES = 3
WINDOW_S = 3
K = 2.5  # how many attempts per accepted one may go out before throttling starts
QUEUE_MAX = 20  # attempts: 200 ms of work for a healthy backend


QUEUE_TARGET_MS = 200


class Client:
    """The client library: throttles itself by the share of attempts the backend accepts."""

    def __init__(self, init: dict) -> None:
        self.buckets: dict[int, list[int]] = {}  # second -> [wanted, accepted]

    def count(self, now: int, index: int) -> None:
        second = now // 1000
        self.buckets.setdefault(second, [0, 0])[index] += 1
        for old in [s for s in self.buckets if s <= second - WINDOW_S]:
            del self.buckets[old]

    def throttle(self, now: int, rand: float) -> float | None:
        """None to refuse the attempt here, else a fresh uniform draw for its jitter."""
        self.count(now, 0)
        wanted = sum(b[0] for b in self.buckets.values())
        accepted = sum(b[1] for b in self.buckets.values())
        refuse = max(0.0, (wanted - K * accepted) / (wanted + 1))
        if rand < refuse:
            return None
        return (rand - refuse) / (1 - refuse)  # still uniform on [0, 1)

    def attempt(self, now: int, event: dict, delay_ms: int) -> dict | None:
        send_at = now + delay_ms
        if send_at + 50 >= event["deadline"]:
            return None
        expires = min(event["deadline"], send_at + TIMEOUT_MS)
        return {"delay_ms": delay_ms, "timeout_ms": expires - send_at, "deadline": expires}

    def on_request(self, now: int, event: dict) -> dict | None:
        if self.throttle(now, event["rand"]) is None:
            return None
        return self.attempt(now, event, 0)

    def on_failure(self, now: int, event: dict) -> dict | None:
        if event["error"] == "error":
            self.count(now, 1)  # the backend took it and answered: it was accepted
        if event["attempt"] > RETRIES:
            return None
        jitter = self.throttle(now, event["rand"])
        if jitter is None:
            return None
        ceiling = min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (event["attempt"] - 1))
        return self.attempt(now, event, round(jitter * ceiling))

    def on_success(self, now: int, event: dict) -> None:
        self.count(now, 1)


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
