"""Bulk orders like the ones that time out since Tuesday, and what service.py pays for them.

    python3 bench.py --seed YOUR_SEED              # your seed's bulk orders, measured
    python3 bench.py --seed YOUR_SEED --write orders.jsonl
    python3 bench.py --seed YOUR_SEED --service other_service.py

For every order it prints the lines, the merged SKUs, the calls the service made (every
Python function call and every call of a built-in function, counted with
``sys.setprofile`` exactly as the grader counts them) and the CPU time. ``--write``
saves the orders, one JSON object per line, for ``python3 service.py < orders.jsonl``.
``--max-calls`` stops an order that makes more calls than that (the grader stops an
order at 8 times the reference's calls).
"""

import argparse
import hashlib
import hmac
import importlib.util
import json
import random
import sys
import time

# The wholesale gateway signs every order with the key service.py checks.
SIGNING_KEY = b"wholesale-gateway-2026"
# Your seed's bulk orders: how many, and how many lines each has.
ORDERS = 2
LINES = (2500, 3500)
CURRENCIES = ("EUR", "GBP", "USD", "CHF")
FAMILIES = ("KX", "TR", "BL", "MN", "QZ", "HV", "PD", "CW")


def spelling(rng, family, number):
    """One way a customer may type SKU family+number."""
    text = rng.choice((f"{family}-{number}", f"{family}{number}", f"{family} {number}"))
    text = rng.choice((text, text.lower(), text.title()))
    return rng.choice(("", " ", "  ")) + text + rng.choice(("", " "))


def promotions(rng):
    rules = []
    for index in range(rng.randint(5, 9)):
        family = rng.choice(FAMILIES)
        digit = rng.randint(1, 9)
        campaign = rng.choice(("SPRING", "BULK", "TRADE", "CLEAR"))
        rules.append(
            {
                "name": f"{family}{digit}-{campaign}-{index}",
                "sku_pattern": f"{family}{digit}\\d{{4}}",
                "percent": rng.choice((5, 8, 10, 12, 15, 20, 25)),
                "min_qty": rng.choice((1, 2, 5, 10)),
            }
        )
    return rules


def sign(customer, order_id, line_count):
    message = f"{customer}:{order_id}:{line_count}".encode()
    return hmac.new(SIGNING_KEY, message, hashlib.sha256).hexdigest()


def make_order(rng, order_id, line_count):
    """One bulk order: about a third of its lines repeat a SKU seen earlier in it."""
    distinct = int(line_count * rng.uniform(0.6, 0.75))
    codes = set()
    while len(codes) < distinct:
        codes.add((rng.choice(FAMILIES), rng.randint(10000, 99999)))
    codes = sorted(codes)
    rng.shuffle(codes)
    picks = codes + [rng.choice(codes) for _ in range(line_count - distinct)]
    rng.shuffle(picks)
    lines = []
    for family, number in picks:
        lines.append(
            {
                "sku": spelling(rng, family, number),
                "qty": rng.choice((1, 1, 2, 3, 5, 6, 10, 12, 24)),
                "unit_cents": rng.randint(50, 40000),
            }
        )
    customer = f"C-{rng.randint(1000, 9999)}"
    return {
        "order": order_id,
        "customer": customer,
        "currency": rng.choice(CURRENCIES),
        "signature": sign(customer, order_id, len(lines)),
        "promotions": promotions(rng),
        "lines": lines,
    }


def make_orders(seed, count=ORDERS, lines=LINES, prefix="PO"):
    """``count`` bulk orders for a seed; the same seed always gives the same orders."""
    rng = random.Random(f"bulk-orders:{seed}")
    return [
        make_order(rng, f"{prefix}-{seed % 100000:05d}-{index + 1}", rng.randint(*lines))
        for index in range(count)
    ]


class CallLimit(Exception):
    pass


def counted(handle, text, max_calls):
    """(answer, calls): every "call" and "c_call" event while handle(text) runs."""
    calls = 0

    def count(frame, event, arg):
        nonlocal calls
        if event == "call" or event == "c_call":
            calls += 1
            if calls > max_calls:
                raise CallLimit

    sys.setprofile(count)
    try:
        answer = handle(text)
    finally:
        sys.setprofile(None)
    return answer, calls


def load_service(path):
    spec = importlib.util.spec_from_file_location("service", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--service", default="service.py")
    parser.add_argument("--write", metavar="FILE", help="save the orders, one per line")
    parser.add_argument("--max-calls", type=int, default=20_000_000)
    args = parser.parse_args()
    orders = make_orders(args.seed)
    if args.write:
        with open(args.write, "w") as out:
            for order in orders:
                out.write(json.dumps(order) + "\n")
        print(f"wrote {len(orders)} orders to {args.write}")
        return
    service = load_service(args.service)
    for order in orders:
        text = json.dumps(order)
        started = time.process_time()
        try:
            answer, calls = counted(service.handle, text, args.max_calls)
        except CallLimit:
            lines = len(order["lines"])
            print(f"{order['order']}: {lines} lines, stopped after {args.max_calls:,} calls")
            continue
        cpu = time.process_time() - started
        merged = json.loads(answer).get("merged")
        print(
            f"{order['order']}: {len(order['lines'])} lines, {merged} merged, "
            f"{calls:,} calls ({calls / len(order['lines']):.1f} per line), "
            f"{cpu:.2f} s CPU under the counter"
        )


if __name__ == "__main__":
    main()
