"""The cheat: a cache that never caches cannot serve a stale price.

Every get reads the database, updates only write it, and the refresher does nothing.
"""


def get(key):
    price = yield ("db.read", key)
    return price


def update(key, price):
    yield ("db.write", key, price)
    yield ("cache.delete", key)


def refresh(key):
    yield ("cache.delete", key)
