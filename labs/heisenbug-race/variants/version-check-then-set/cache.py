"""The half-fix that passes a million runs: check the entry's version, then set.

A fill or a refresh notes the version before reading the database and sets the price
only if the version has not moved. The check and the set are two steps: an update that
lands between them is missed, in a window one step wide.
"""


def get(key):
    price, version = yield ("cache.gets", key)
    if price is None:
        price = yield ("db.read", key)
        _, now = yield ("cache.gets", key)
        if now == version:
            yield ("cache.set", key, price)
    return price


def update(key, price):
    yield ("db.write", key, price)
    yield ("cache.delete", key)


def refresh(key):
    _, version = yield ("cache.gets", key)
    price = yield ("db.read", key)
    _, now = yield ("cache.gets", key)
    if now == version:
        yield ("cache.set", key, price)
