"""Moves due messages from the outbox to the receiver over pooled connections."""

import logging

from relay.outbox import Message, Outbox
from relay.pool import ConnectionPool
from relay.retry import RetryPolicy

log = logging.getLogger(__name__)

# Answers that mean "not now" rather than "never": worth another attempt later.
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class Dispatcher:
    """Delivers one batch of due messages per run_once(); run it from a worker loop.

    Several dispatchers (one per worker thread) may share an outbox and a pool. A failed
    delivery is retried with backoff as the retry policy says; a message that fails on
    its last attempt, or that the receiver refuses outright, goes to the dead letters.
    """

    def __init__(
        self,
        outbox: Outbox,
        pool: ConnectionPool,
        *,
        policy: RetryPolicy | None = None,
        batch_size: int = 50,
        acquire_timeout_s: float = 5.0,
    ) -> None:
        self.outbox = outbox
        self.pool = pool
        self.policy = policy or RetryPolicy()
        self.batch_size = batch_size
        self.acquire_timeout_s = acquire_timeout_s

    def run_once(self) -> int:
        """Deliver the due messages of one batch; returns how many were claimed."""
        batch = self.outbox.claim(self.batch_size)
        for message in batch:
            self._deliver(message)
        return len(batch)

    def _deliver(self, message: Message) -> None:
        try:
            conn = self.pool.acquire(timeout=self.acquire_timeout_s)
        except OSError as exc:  # PoolTimeout, or a connection that could not be made
            self._failed(message, f"transport error: {exc}")
            return
        try:
            status = conn.post(message.path, message.body)
        except OSError as exc:
            # A connection that failed mid-request may be half-written: never reuse it.
            self.pool.discard(conn)
            self._failed(message, f"transport error: {exc}")
            return
        self.pool.release(conn)
        if 200 <= status < 300:
            self.outbox.ack(message.id)
        elif status in RETRYABLE_STATUSES:
            self._failed(message, f"HTTP {status}")
        else:
            log.warning("receiver refused %s: HTTP %d", message.id, status)
            self.outbox.dead(message.id, f"HTTP {status}")

    def _failed(self, message: Message, reason: str) -> None:
        """A delivery attempt failed in a way that may pass: retry, or give up for good."""
        if self.policy.gives_up_after(message.attempts):
            log.warning(
                "giving up on %s after %d attempts: %s", message.id, message.attempts, reason
            )
            self.outbox.dead(message.id, reason)
            return
        delay = self.policy.delay(message.attempts)
        log.info(
            "retrying %s in %.1fs (attempt %d): %s", message.id, delay, message.attempts, reason
        )
        self.outbox.retry_later(message.id, delay, reason)
