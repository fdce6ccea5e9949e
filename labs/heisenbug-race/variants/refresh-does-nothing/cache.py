"""The reference, except that the refresher does nothing.

Nothing can go stale that is never refreshed; but the hot products it exists for now
miss, and the contract says a refresh leaves the price cached.
"""


def lock(key):
    return f"price:{key}"


def get(key):
    yield ("lock.acquire", lock(key))
    price = yield ("cache.get", key)
    if price is None:
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
    yield ("cache.get", key)
