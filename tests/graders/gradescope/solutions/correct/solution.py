"""The instructor's answer: every check passes."""


def add(a, b):
    """The sum of a and b."""
    return a + b


def mean(values):
    """The arithmetic mean of a non-empty list."""
    return sum(values) / len(values)


def shout(text):
    """text in capitals with an exclamation mark."""
    return text.upper() + "!"
