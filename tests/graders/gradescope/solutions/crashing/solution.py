"""Code that raises: add and shout error out instead of failing an assertion."""


def add(a, b):
    """Adds a string to a number."""
    return a + str(b)


def mean(values):
    """The arithmetic mean of a non-empty list."""
    return sum(values) / len(values)


def shout(text):
    """Calls a method that strings do not have."""
    return text.shout()
