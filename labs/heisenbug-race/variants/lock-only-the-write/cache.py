"""The half-fix: a lock around each cache write, none around what the write relies on.

The lock makes each cache.set atomic, which it already was; the price it stores may
still have been read before another thread's update.
"""


def lock(key):
    return f"price:{key}"


def get(key):
    price = yield ("cache.get", key)
    if price is None:
        price = yield ("db.read", key)
        yield ("lock.acquire", lock(key))
        yield ("cache.set", key, price)
        yield ("lock.release", lock(key))
    return price


def update(key, price):
    yield ("db.write", key, price)
    yield ("lock.acquire", lock(key))
    yield ("cache.set", key, price)
    yield ("lock.release", lock(key))


def refresh(key):
    price = yield ("db.read", key)
    yield ("lock.acquire", lock(key))
    yield ("cache.set", key, price)
    yield ("lock.release", lock(key))
