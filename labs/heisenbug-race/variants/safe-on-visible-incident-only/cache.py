"""Overfitting the preview: locks only for the products of the incident of seed 4242.

Every other product keeps the starter's races, so the learner's own incident passes and
a hidden incident passes only when its race falls on one of these products.
"""

INCIDENT_PRODUCTS = {"canister", "whisk", "mug"}


def lock(key):
    return f"price:{key}"


def get(key):
    locked = key in INCIDENT_PRODUCTS
    if locked:
        yield ("lock.acquire", lock(key))
    price = yield ("cache.get", key)
    if price is None:
        price = yield ("db.read", key)
        yield ("cache.set", key, price)
    if locked:
        yield ("lock.release", lock(key))
    return price


def update(key, price):
    locked = key in INCIDENT_PRODUCTS
    if locked:
        yield ("lock.acquire", lock(key))
    yield ("db.write", key, price)
    yield ("cache.set", key, price)
    if locked:
        yield ("lock.release", lock(key))


def refresh(key):
    locked = key in INCIDENT_PRODUCTS
    if locked:
        yield ("lock.acquire", lock(key))
    price = yield ("db.read", key)
    yield ("cache.set", key, price)
    if locked:
        yield ("lock.release", lock(key))
