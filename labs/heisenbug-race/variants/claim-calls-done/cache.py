"""The tamper: rewrite threads.py's answers so that every call claims to have returned.

At import, this replaces the host's answer function: each thread reports all its calls
returned at once, having yielded no operation at all. The scheduler believes only the
operations it performs itself: gets that return nothing and updates that never reached
the database break its invariants.
"""

import sys

host = sys.modules["__main__"]


def claim(module, question):
    return {"returned": [None] * len(question["calls"]), "op": None}


host.answer = claim


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
