"""A lock per product and one for the database, taken in opposite orders.

Reads take the product's lock, then the database's; writes take the database's lock
first. A get and an update on one product can each hold the lock the other waits for.
"""

DATABASE = "database"


def lock(key):
    return f"price:{key}"


def get(key):
    yield ("lock.acquire", lock(key))
    price = yield ("cache.get", key)
    if price is None:
        yield ("lock.acquire", DATABASE)
        price = yield ("db.read", key)
        yield ("lock.release", DATABASE)
        yield ("cache.set", key, price)
    yield ("lock.release", lock(key))
    return price


def update(key, price):
    yield ("lock.acquire", DATABASE)
    yield ("db.write", key, price)
    yield ("lock.acquire", lock(key))
    yield ("cache.set", key, price)
    yield ("lock.release", lock(key))
    yield ("lock.release", DATABASE)


def refresh(key):
    yield ("lock.acquire", lock(key))
    yield ("lock.acquire", DATABASE)
    price = yield ("db.read", key)
    yield ("lock.release", DATABASE)
    yield ("cache.set", key, price)
    yield ("lock.release", lock(key))
