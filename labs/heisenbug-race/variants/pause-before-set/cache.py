"""The "add a sleep" fix: pause before each cache write, hoping the race has passed.

A pause lets the other threads run first, which makes the flaky test pass more often
and closes no window: a preemption can still land anywhere.
"""


def get(key):
    price = yield ("cache.get", key)
    if price is None:
        price = yield ("db.read", key)
        yield ("pause",)
        yield ("cache.set", key, price)
    return price


def update(key, price):
    yield ("db.write", key, price)
    yield ("pause",)
    yield ("cache.set", key, price)


def refresh(key):
    price = yield ("db.read", key)
    yield ("pause",)
    yield ("cache.set", key, price)
