"""The textbook half-fix: updates delete the cached price instead of writing it.

Two updates can no longer leave the older price behind, but a fill or a refresh that
read the database before an update still writes the old price after that update's
delete: the race behind "Scaling Memcache at Facebook"'s leases.
"""


def get(key):
    price = yield ("cache.get", key)
    if price is None:
        price = yield ("db.read", key)
        yield ("cache.set", key, price)
    return price


def update(key, price):
    yield ("db.write", key, price)
    yield ("cache.delete", key)


def refresh(key):
    price = yield ("db.read", key)
    yield ("cache.set", key, price)
