"""One lock around every call: safe, and every product waits for every other.

While one thread waits on the database for a kettle's price, a customer asking for a
mug's waits too.
"""

LOCK = "prices"


def get(key):
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
