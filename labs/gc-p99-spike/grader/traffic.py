"""Seeded order streams for the checker; the same seed always gives the same orders."""

import random

from pricing import CATALOG_SIZE, COUPONS

CUSTOMERS = 2_000


def checkout_orders(seed: int, count: int) -> list[dict]:
    """Orders shaped like production traffic: 10-30 lines, a coupon on about 30%."""
    rng = random.Random(seed)
    orders = []
    for number in range(count):
        order = {
            "order": f"o-{seed}-{number}",
            "customer": f"c-{rng.randrange(CUSTOMERS)}",
            "items": [
                [f"SKU-{rng.randrange(CATALOG_SIZE):06d}", rng.randint(1, 5)]
                for _ in range(rng.randint(10, 30))
            ],
        }
        if rng.random() < 0.3:
            order["coupon"] = rng.choice(sorted(COUPONS))
        orders.append(order)
    return orders


def unusual_orders(seed: int) -> list[dict]:
    """Orders production sees rarely: unknown SKUs, huge and tiny carts, odd coupons."""
    rng = random.Random(seed)
    shapes = []
    for number in range(40):
        size = rng.choice([0, 1, 1, 2, 3, 120, 200])
        items = [
            [f"SKU-{rng.randrange(CATALOG_SIZE):06d}", rng.choice([1, 2, 7, 50, 999])]
            for _ in range(size)
        ]
        if number % 4 == 1 and items:
            # A SKU that is not (or no longer) in the catalog, somewhere in the cart.
            items.insert(rng.randrange(len(items) + 1), [f"SKU-{CATALOG_SIZE + number:06d}", 1])
        order = {"order": f"u-{seed}-{number}", "customer": f"c-{number % 3}", "items": items}
        coupon = rng.choice([None, "SPRING10", "STAFF25", "EXPIRED50", "spring10"])
        if coupon is not None:
            order["coupon"] = coupon
        shapes.append(order)
    # The same customer and coupon again with another cart: its price is another price.
    repeat = dict(shapes[2], order=f"u-{seed}-again", items=[["SKU-000001", 3]])
    return [*shapes, repeat]
