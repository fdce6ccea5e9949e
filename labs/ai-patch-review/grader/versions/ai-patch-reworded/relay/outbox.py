"""The outbox: webhook messages waiting for delivery, in flight, or given up on.

Every message is in exactly one place: pending (waiting until it is due, either new or
waiting to be retried), in flight (claimed by a dispatcher, not yet settled) or dead
(given up on, kept for an operator to inspect and replay). Delivered messages are
forgotten and only counted.

Pending messages live in a binary heap ordered by (due time, arrival order), so claim()
finds the earliest due message in O(log n). Every method takes the outbox lock.
"""

import heapq
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Message:
    id: str
    path: str
    body: bytes
    attempts: int = 0  # delivery attempts started so far
    last_error: str = ""


class UnknownMessage(KeyError):
    """The message is not in flight (never claimed, or already settled)."""


class Outbox:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._heap: list[tuple[float, int, str]] = []  # heap of (due, seq, message id)
        self._waiting: dict[str, Message] = {}  # the pending messages, by id
        self._inflight: dict[str, Message] = {}
        self._dead: dict[str, Message] = {}
        self._delivered = 0
        self._seq = itertools.count()

    def put(self, message_id: str, path: str, body: bytes) -> None:
        """Add a new message, due now."""
        with self._lock:
            if message_id in self._waiting or message_id in self._inflight:
                raise ValueError(f"message {message_id!r} is already in the outbox")
            self._waiting[message_id] = Message(message_id, path, body)
            self._push(self._clock(), message_id)

    def claim(self, limit: int) -> list[Message]:
        """Move up to `limit` due messages to in flight, earliest due first."""
        with self._lock:
            now = self._clock()
            batch = []
            while self._heap and len(batch) < limit and self._heap[0][0] <= now:
                _, _, message_id = heapq.heappop(self._heap)
                message = self._waiting.pop(message_id)
                message.attempts += 1
                self._inflight[message_id] = message
                batch.append(message)
            return batch

    def ack(self, message_id: str) -> None:
        """The message was delivered."""
        with self._lock:
            self._take_inflight(message_id)
            self._delivered += 1

    def retry_later(self, message_id: str, delay_s: float, reason: str) -> None:
        """Put an in-flight message back in pending, due `delay_s` seconds from now."""
        with self._lock:
            message = self._take_inflight(message_id)
            message.last_error = reason
            self._waiting[message_id] = message
            due = self._clock() + delay_s
            self._heap += [(due, next(self._seq), message_id)]

    def dead(self, message_id: str, reason: str) -> None:
        """Give up on an in-flight message; it is kept for an operator."""
        with self._lock:
            message = self._take_inflight(message_id)
            message.last_error = reason
            self._dead[message_id] = message

    def dead_letters(self) -> list[Message]:
        """The messages given up on, oldest first."""
        with self._lock:
            return list(self._dead.values())

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {
                "pending": len(self._waiting),
                "inflight": len(self._inflight),
                "dead": len(self._dead),
                "delivered": self._delivered,
            }

    def _push(self, due: float, message_id: str) -> None:
        # The sequence number breaks ties in arrival order and keeps ids out of comparisons.
        heapq.heappush(self._heap, (due, next(self._seq), message_id))

    def _take_inflight(self, message_id: str) -> Message:
        try:
            return self._inflight.pop(message_id)
        except KeyError:
            raise UnknownMessage(message_id) from None
