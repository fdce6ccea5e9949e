"""Wrong answers: mean is off by one element, shout forgets the mark on two cases."""


def add(a, b):
    """The sum of a and b."""
    return a + b


def mean(values):
    """Divides by one too many."""
    return sum(values) / (len(values) + 1) if len(values) > 1 else values[0]


def shout(text):
    return text.upper() + ("!" if " " not in text and text else "")
