"""Spins on the CPU for ever."""

while True:
    pass
