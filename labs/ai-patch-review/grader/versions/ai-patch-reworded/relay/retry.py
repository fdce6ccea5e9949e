"""When to retry a failed delivery: capped exponential backoff."""

from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """How many times to try a delivery, and how long to wait between tries.

    max_attempts counts every attempt, the first one included. The wait before the
    n-th retry is base_s * factor ** (n - 1), capped at max_delay_s: with the defaults
    0.5 s, 1 s, 2 s, 4 s, and then the message is given up on.
    """

    max_attempts: int = 5
    base_s: float = 0.5
    factor: float = 2.0
    max_delay_s: float = 30.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_s < 0 or self.factor < 1:
            raise ValueError("base_s must be >= 0 and factor >= 1")

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (1 = the first attempt)."""
        uncapped = self.base_s * pow(self.factor, attempt)
        return self.max_delay_s if uncapped > self.max_delay_s else uncapped

    def gives_up_after(self, attempt: int) -> bool:
        """True when attempt number `attempt` was the last one allowed."""
        return attempt >= self.max_attempts
