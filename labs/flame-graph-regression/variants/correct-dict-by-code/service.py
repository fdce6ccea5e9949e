"""The invoice service: turns one purchase order into one invoice.

``handle(text)`` takes an order as a JSON text and returns its invoice as a JSON text.
Run as a program, it reads one order per line on standard input and writes one invoice
per line on standard output:

    python3 service.py < orders.jsonl > invoices.jsonl

An order comes from the wholesale gateway, which signs it: ``{"order", "customer",
"currency", "signature", "promotions": [...], "lines": [{"sku", "qty", "unit_cents"}]}``.
Customers type SKUs as they like ("kx-10482", " KX10482 "), so lines are merged by the
normalised code: one invoice line per SKU, in the order each SKU first appears, with the
quantities summed and the unit price of its first line.
"""

import hashlib
import hmac
import json
import re
import sys

# The key the wholesale gateway signs orders with.
SIGNING_KEY = b"wholesale-gateway-2026"


class Sku:
    """A stock-keeping unit as a customer typed it; two are equal when their codes are."""

    __slots__ = ("raw", "key")

    def __init__(self, raw):
        self.raw = raw
        self.key = raw.strip().upper().replace("-", "").replace(" ", "")

    def __eq__(self, other):
        return isinstance(other, Sku) and self.key == other.key

    def __hash__(self):
        return hash(self.key)


class Promotion:
    """A discount on the SKUs whose code matches a pattern, from a minimum quantity."""

    __slots__ = ("name", "pattern", "percent", "min_qty")

    def __init__(self, rule):
        self.name = rule["name"]
        self.pattern = re.compile(rule["sku_pattern"])
        self.percent = int(rule["percent"])
        self.min_qty = int(rule.get("min_qty", 1))

    def applies(self, sku, qty):
        return qty >= self.min_qty and self.pattern.fullmatch(sku.key) is not None


class Unauthorised(Exception):
    pass


def parse_order(text):
    order = json.loads(text)
    if not isinstance(order.get("lines"), list):
        raise ValueError("an order needs a list of lines")
    return order


def authorise(order):
    message = f"{order['customer']}:{order['order']}:{len(order['lines'])}".encode()
    expected = hmac.new(SIGNING_KEY, message, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, str(order.get("signature", ""))):
        raise Unauthorised(order["order"])


def normalised(raw):
    return raw.strip().upper().replace("-", "").replace(" ", "")


def merge_lines(lines):
    """[sku, unit_cents, qty] per SKU, in the order each SKU first appears."""
    by_code = {}
    for line in lines:
        code = normalised(line["sku"])
        if code in by_code:
            by_code[code][2] += line["qty"]
        else:
            by_code[code] = [Sku(line["sku"]), line["unit_cents"], line["qty"]]
    return list(by_code.values())


def compile_promotions(rules):
    return [Promotion(rule) for rule in rules]


def price_line(sku, unit_cents, qty, promotions):
    best = None
    for name, pattern, percent, min_qty in promotions:
        if qty >= min_qty and pattern.fullmatch(sku.key) and (best is None or percent > best[2]):
            best = (name, pattern, percent)
    gross = unit_cents * qty
    discount = gross * best[2] // 100 if best else 0
    return {
        "sku": sku.key,
        "qty": qty,
        "unit_cents": unit_cents,
        "discount_cents": discount,
        "total_cents": gross - discount,
        "promotion": best[0] if best else None,
    }


def price_order(order, merged):
    promotions = [
        (p.name, p.pattern, p.percent, p.min_qty) for p in compile_promotions(order["promotions"])
    ]
    return [price_line(sku, unit_cents, qty, promotions) for sku, unit_cents, qty in merged]


def format_money(cents, currency):
    return f"{cents // 100}.{cents % 100:02d} {currency}"


def render_invoice(order, priced):
    currency = order["currency"]
    lines = []
    total = 0
    for line in priced:
        total += line["total_cents"]
        lines.append(
            {
                "sku": line["sku"],
                "qty": line["qty"],
                "unit": format_money(line["unit_cents"], currency),
                "discount": format_money(line["discount_cents"], currency),
                "total": format_money(line["total_cents"], currency),
                "promotion": line["promotion"],
            }
        )
    invoice = {
        "order": order["order"],
        "customer": order["customer"],
        "lines": lines,
        "merged": len(order["lines"]) - len(lines),
        "total": format_money(total, currency),
    }
    return json.dumps(invoice, separators=(",", ":"))


def handle(text):
    """One order as JSON in, its invoice (or an error) as JSON out."""
    order = parse_order(text)
    try:
        authorise(order)
    except Unauthorised:
        return json.dumps({"order": order["order"], "error": "unauthorised"})
    merged = merge_lines(order["lines"])
    priced = price_order(order, merged)
    return render_invoice(order, priced)


def main():
    for text in sys.stdin:
        if text.strip():
            sys.stdout.write(handle(text) + "\n")


if __name__ == "__main__":
    main()
