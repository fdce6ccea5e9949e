"""relay: delivers webhook events from an outbox to the receiving service.

The public API is what this module exports; everything with a leading underscore is
private and may change without notice.
"""

from relay.dispatcher import Dispatcher
from relay.outbox import Message, Outbox, UnknownMessage
from relay.pool import ConnectionPool, PoolTimeout
from relay.transport import HttpConnection

__all__ = [
    "ConnectionPool",
    "Dispatcher",
    "HttpConnection",
    "Message",
    "Outbox",
    "PoolTimeout",
    "UnknownMessage",
]
