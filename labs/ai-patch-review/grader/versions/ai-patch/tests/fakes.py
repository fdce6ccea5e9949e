"""Test doubles: a receiver that answers from a script, and its connections."""


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeReceiver:
    """Answers each POST with the next scripted outcome: a status code or an exception.

    When the script runs out it answers 200. Every request is recorded.
    """

    def __init__(self, *outcomes) -> None:
        self.outcomes = list(outcomes)
        self.requests: list[tuple[str, bytes]] = []
        self.connections: list[FakeConnection] = []

    def connect(self) -> "FakeConnection":
        conn = FakeConnection(self)
        self.connections.append(conn)
        return conn


class FakeConnection:
    def __init__(self, receiver: FakeReceiver) -> None:
        self.receiver = receiver
        self.closed = False

    def post(self, path: str, body: bytes) -> int:
        if self.closed:
            raise ConnectionError("post() on a closed connection")
        self.receiver.requests.append((path, body))
        outcome = self.receiver.outcomes.pop(0) if self.receiver.outcomes else 200
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def close(self) -> None:
        self.closed = True
