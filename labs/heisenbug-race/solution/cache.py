"""The storefront's price cache, fixed with one lock per product.

Each race in the starter is a check-then-act: a thread reads (the cache, or the database)
and later writes the cache on the strength of what it read, and another thread's update
lands in between. Holding the product's lock from the read to the write makes each call
one step as far as the other calls on that product can tell, while calls on other
products never wait for it.

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
    yield ("lock.acquire", lock(key))
    price = yield ("db.read", key)
    yield ("cache.set", key, price)
    yield ("lock.release", lock(key))
