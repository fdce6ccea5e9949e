# time limit: 4 s
"""Spins on the CPU for ever."""

while True:
    pass
