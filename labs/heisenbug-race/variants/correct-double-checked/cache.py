"""The price cache with double-checked locking: hits take no lock at all.

A hit reads the cache and returns. A miss takes the product's lock and checks the cache
again before reading the database, since another thread may have filled it meanwhile.
Updates write through, to the database and then the cache, and the refresher re-reads,
both under the product's lock, so no fill can land between a database write and the
cache write that follows it.
"""


def lock(key):
    return f"price:{key}"


def get(key):
    price = yield ("cache.get", key)
    if price is not None:
        return price
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
    yield ("lock.acquire", lock(key))
    price = yield ("db.read", key)
    yield ("cache.set", key, price)
    yield ("lock.release", lock(key))
