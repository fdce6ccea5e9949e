"""The price cache without locks: memcache's compare-and-set on each entry's version.

A thread that wants to cache a price it read from the database first notes the entry's
version (cache.gets) and stores with cache.cas, which only succeeds if nobody set or
deleted the entry since. An update writes the database and then deletes the entry, so a
fill or a refresh that read the old price loses its cas and caches nothing. Two updates
cannot leave the older price behind, since neither writes the cache.
"""


def get(key):
    price, version = yield ("cache.gets", key)
    if price is None:
        price = yield ("db.read", key)
        yield ("cache.cas", key, price, version)
    return price


def update(key, price):
    yield ("db.write", key, price)
    yield ("cache.delete", key)


def refresh(key):
    _, version = yield ("cache.gets", key)
    price = yield ("db.read", key)
    yield ("cache.cas", key, price, version)
