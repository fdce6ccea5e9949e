"""A bounded pool of connections to the receiver, shared by dispatcher threads.

At most `size` connections exist at once. A caller acquire()s a connection, uses it,
and then either release()s it (healthy, back to the idle list) or discard()s it
(broken: it is closed and its slot becomes free for a new connection).
"""

import threading
import time
from collections.abc import Callable
from typing import Any


class PoolTimeout(TimeoutError):
    """No connection became free within the caller's timeout."""


class ConnectionPool:
    def __init__(self, factory: Callable[[], Any], size: int) -> None:
        if size < 1:
            raise ValueError("a pool needs at least one connection")
        self._factory = factory
        self._size = size
        self._idle: list[Any] = []
        self._created = 0  # connections that exist: idle ones and lent ones
        self._cond = threading.Condition()

    def acquire(self, timeout: float | None = None) -> Any:
        """Lend a connection, waiting up to `timeout` seconds (None: for ever) for one."""
        # Most calls find a connection waiting; handing it out needs no lock.
        idle = self._idle
        if len(idle) > 0:
            return idle.pop()
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._idle and self._created >= self._size:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise PoolTimeout(f"no connection free within {timeout}s")
                self._cond.wait(remaining)
            if self._idle:
                return self._idle.pop()
            self._created += 1  # reserve the slot before connecting outside the lock
        try:
            return self._factory()
        except BaseException:
            with self._cond:
                self._created -= 1
                self._cond.notify()
            raise

    def release(self, conn: Any) -> None:
        """Give back a healthy connection for the next caller."""
        with self._cond:
            self._idle.append(conn)
            self._cond.notify()

    def discard(self, conn: Any) -> None:
        """Give back a broken connection: close it and free its slot."""
        try:
            conn.close()
        finally:
            with self._cond:
                self._created -= 1
                self._cond.notify()

    def stats(self) -> dict[str, int]:
        with self._cond:
            idle = len(self._idle)
            return {"size": self._size, "idle": idle, "lent": self._created - idle}
