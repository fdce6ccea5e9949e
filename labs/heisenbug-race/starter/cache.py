"""The storefront's price cache: a read-through cache in front of the pricing database.

Every request handler calls these three functions, many at once, each in its own thread:

- get(key): the price of a product, from the cache, or from the database on a miss;
- update(key, price): a price change from the pricing team;
- refresh(key): the background refresher re-reads a hot product, so that it never misses.

Each function is a generator. It never touches the database, the cache or a lock
itself: it yields an operation, and the scheduler (scheduler.py) performs it and sends
back the result. Every yield is a point where another thread may run.

    price = yield ("cache.get", key)          # the cached price, or None
    price, version = yield ("cache.gets", key) # the price (or None) and its version
    yield ("cache.set", key, price)
    stored = yield ("cache.cas", key, price, version)  # set only if version is still current
    yield ("cache.delete", key)
    price = yield ("db.read", key)
    yield ("db.write", key, price)
    yield ("lock.acquire", name)             # waits while another thread holds it
    yield ("lock.release", name)
    yield ("pause",)                          # back off: let the other threads run first

The storefront's pages read prices straight from the cache as well, so the cache may hold
nothing but prices the database has had. The README says what else must hold.
"""


def get(key):
    price = yield ("cache.get", key)
    if price is None:
        price = yield ("db.read", key)
        yield ("cache.set", key, price)
    return price


def update(key, price):
    yield ("db.write", key, price)
    yield ("cache.set", key, price)


def refresh(key):
    price = yield ("db.read", key)
    yield ("cache.set", key, price)
