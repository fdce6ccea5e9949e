"""One process grows by 16 MB at a time until something stops it."""

hoard = []
while True:
    hoard.append(b"x" * (16 << 20))
