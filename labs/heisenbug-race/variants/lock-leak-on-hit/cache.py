"""One lock per product, but a hit returns without releasing it.

The next call on that product waits forever.
"""


def lock(key):
    return f"price:{key}"


def get(key):
    yield ("lock.acquire", lock(key))
    price = yield ("cache.get", key)
    if price is not None:
        return price
    price = yield ("db.read", key)
    yield ("cache.set", key, price)
    yield ("lock.release", lock(key))
    return price


def update(key, price):
    yield ("lock.acquire", lock(key))
    yield ("db.write", key, price)
    yield ("cache.set", key, price)
    yield ("lock.release", lock(key))


def refresh(key):
    yield ("lock.acquire", lock(key))
    price = yield ("db.read", key)
    yield ("cache.set", key, price)
    yield ("lock.release", lock(key))
