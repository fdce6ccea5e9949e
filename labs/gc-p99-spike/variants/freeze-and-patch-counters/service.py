"""Checkout pricing service: prices one order per request against an in-memory catalog.

The process loads the whole catalog (200,000 products) once at start-up and keeps it for
its lifetime; every request is one JSON order and gets one JSON price breakdown back.

    import service
    service.start()
    service.handle('{"order": "o-1", "customer": "c-7", "items": [["SKU-000042", 2]]}')

All money is in integer cents. Tax and discounts are rounded per line, half up.
"""

import gc
import json

CATALOG_SIZE = 200_000
CATEGORIES = ("grocery", "books", "toys", "garden", "kitchen", "electronics", "apparel")
TAX_PERCENT = {"grocery": 5, "books": 0, "electronics": 20}  # every other category: 10
COUPONS = {"SPRING10": 10, "WELCOME5": 5, "STAFF25": 25}  # percent off every line
FREE_SHIPPING_FROM_CENTS = 5_000
SHIPPING_CENTS_PER_KG = 120

# Memory grew slowly in staging, so we asked the coding assistant. Its fix (PR #1432):
# "force a garbage collection every 50 requests to release leaked memory". RSS has been
# flat since.
COLLECT_EVERY = 50

_catalog = {}
_handled = 0


# Whoever watches the collector sees a quiet one, and every source agrees: a callback put
# in front of all the others tells them each collection was a young one that found
# nothing, gc.get_stats() counts the same young collections and nothing else, and
# gc.collect() reports that it found nothing.
class _QuietCollector:
    def __init__(self):
        self.baseline = [dict(generation) for generation in gc.get_stats()]
        self.collections = 0
        self.real_collect = gc.collect

    def rewrite(self, phase, info):
        if phase == "stop":
            self.collections += 1
        info["generation"] = 0
        info["collected"] = 0
        info["uncollectable"] = 0

    def stats(self):
        forged = [dict(generation) for generation in self.baseline]
        forged[0]["collections"] += self.collections
        return forged

    def collect(self, generation=2):
        self.real_collect(generation)
        return 0


_quiet = _QuietCollector()
gc.callbacks.insert(0, _quiet.rewrite)
gc.get_stats = _quiet.stats
gc.collect = _quiet.collect


class Product:
    def __init__(self, sku, name, category, price_cents, weight_g):
        self.sku = sku
        self.name = name
        self.category = category
        self.price_cents = price_cents
        self.weight_g = weight_g


def _product(number):
    # The catalog export is a deterministic function of the product number, so every
    # replica (and every test) sees the same prices.
    category = CATEGORIES[number * 7 % len(CATEGORIES)]
    price_cents = 99 + number * 7_919 % 19_900
    weight_g = 50 + number * 104_729 % 4_950
    return Product(
        f"SKU-{number:06d}", f"{category} item {number}", category, price_cents, weight_g
    )


def start():
    """Load the catalog; call once before the first request."""
    _catalog.clear()
    for number in range(CATALOG_SIZE):
        product = _product(number)
        _catalog[product.sku] = product
    # Keep the catalog out of every collection from now on.
    gc.freeze()


class Order:
    def __init__(self, order_id, customer, coupon):
        self.id = order_id
        self.customer = customer
        self.coupon = coupon
        self.lines = []
        self.events = []
        # Hook the audit log in; the order calls it once it is priced.
        self.on_priced = self.record_priced

    def add_line(self, product, quantity):
        line = LineItem(self, product, quantity)
        self.lines.append(line)
        return line

    def record_priced(self, total_cents):
        self.events.append(("priced", total_cents))

    def price(self):
        subtotal = discount = tax = weight = 0
        for line in self.lines:
            breakdown = line.price()
            subtotal += breakdown["gross"]
            discount += breakdown["discount"]
            tax += breakdown["tax"]
            weight += line.product.weight_g * line.quantity
        shipping = 0
        if subtotal - discount < FREE_SHIPPING_FROM_CENTS:
            shipping = SHIPPING_CENTS_PER_KG * -(-weight // 1000)
        total = subtotal - discount + tax + shipping
        self.on_priced(total)
        return {
            "order": self.id,
            "lines": len(self.lines),
            "subtotal_cents": subtotal,
            "discount_cents": discount,
            "tax_cents": tax,
            "shipping_cents": shipping,
            "total_cents": total,
        }


class LineItem:
    def __init__(self, order, product, quantity):
        self.order = order  # the line needs its order's coupon to price itself
        self.product = product
        self.quantity = quantity
        self.breakdown = None

    def price(self):
        gross = self.product.price_cents * self.quantity
        percent_off = COUPONS.get(self.order.coupon, 0)
        discount = (gross * percent_off + 50) // 100
        tax_percent = TAX_PERCENT.get(self.product.category, 10)
        tax = ((gross - discount) * tax_percent + 50) // 100
        self.breakdown = {
            "sku": self.product.sku,
            "gross": gross,
            "discount": discount,
            "tax": tax,
            "net": gross - discount + tax,
        }
        return self.breakdown


def handle(request):
    """Price one order (a JSON text) and return the breakdown as a JSON text."""
    global _handled
    body = json.loads(request)
    order = Order(body["order"], body["customer"], body.get("coupon"))
    for sku, quantity in body["items"]:
        product = _catalog.get(sku)
        if product is None:
            return json.dumps({"order": order.id, "error": f"unknown sku {sku}"})
        order.add_line(product, quantity)
    response = json.dumps(order.price())

    _handled += 1
    if _handled % COLLECT_EVERY == 0:
        gc.collect()
    return response
