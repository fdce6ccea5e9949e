"""Moves due messages from the outbox to the receiver over pooled connections."""

import logging

from relay.outbox import Message, Outbox
from relay.pool import ConnectionPool

log = logging.getLogger(__name__)


class Dispatcher:
    """Delivers one batch of due messages per run_once(); run it from a worker loop.

    Several dispatchers (one per worker thread) may share an outbox and a pool.
    """

    def __init__(
        self,
        outbox: Outbox,
        pool: ConnectionPool,
        *,
        batch_size: int = 50,
        acquire_timeout_s: float = 5.0,
    ) -> None:
        self.outbox = outbox
        self.pool = pool
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
        except OSError as exc:
            self.outbox.dead(message.id, f"transport error: {exc}")
            return
        try:
            status = conn.post(message.path, message.body)
        except OSError as exc:
            self.pool.discard(conn)
            self.outbox.dead(message.id, f"transport error: {exc}")
            return
        self.pool.release(conn)
        if 200 <= status < 300:
            self.outbox.ack(message.id)
        else:
            log.warning("receiver refused %s: HTTP %d", message.id, status)
            self.outbox.dead(message.id, f"HTTP {status}")
