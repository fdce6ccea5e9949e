"""Double-checked locking with one lock for every product: hits go free, misses queue.

Safe, and a hit on any product never waits; but a miss, an update or a refresh waits for
whatever another thread is doing to any other product.
"""

LOCK = "prices"


def get(key):
    price = yield ("cache.get", key)
    if price is not None:
        return price
    yield ("lock.acquire", LOCK)
    price = yield ("cache.get", key)
    if price is None:
        price = yield ("db.read", key)
        yield ("cache.set", key, price)
    yield ("lock.release", LOCK)
    return price


def update(key, price):
    yield ("lock.acquire", LOCK)
    yield ("db.write", key, price)
    yield ("cache.set", key, price)
    yield ("lock.release", LOCK)


def refresh(key):
    yield ("lock.acquire", LOCK)
    price = yield ("db.read", key)
    yield ("cache.set", key, price)
    yield ("lock.release", LOCK)
