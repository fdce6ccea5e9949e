"""The checker's own pricing: the expected answer to every order, computed on the trusted side.

It follows the checkout service's rules without its catalog: a product's fields are a
pure function of its number, so the checker needs no 200,000-entry table to know them.
"""

CATALOG_SIZE = 200_000
CATEGORIES = ("grocery", "books", "toys", "garden", "kitchen", "electronics", "apparel")
TAX_PERCENT = {"grocery": 5, "books": 0, "electronics": 20}
DEFAULT_TAX_PERCENT = 10
COUPONS = {"SPRING10": 10, "WELCOME5": 5, "STAFF25": 25}
FREE_SHIPPING_FROM_CENTS = 5_000
SHIPPING_CENTS_PER_KG = 120


def product(sku: str) -> tuple[str, int, int] | None:
    """(category, price in cents, weight in grams) of a catalog SKU, None if there is none."""
    digits = sku.removeprefix("SKU-")
    if len(sku) != 10 or len(digits) != 6 or not digits.isdigit():
        return None
    number = int(digits)
    if number >= CATALOG_SIZE:
        return None
    category = CATEGORIES[number * 7 % len(CATEGORIES)]
    return category, 99 + number * 7_919 % 19_900, 50 + number * 104_729 % 4_950


def price(order: dict) -> dict:
    """The response the service must give for one order (as a JSON value)."""
    percent_off = COUPONS.get(order.get("coupon"), 0)
    subtotal = discount = tax = weight = 0
    for sku, quantity in order["items"]:
        found = product(sku)
        if found is None:
            return {"order": order["order"], "error": f"unknown sku {sku}"}
        category, unit_cents, weight_g = found
        gross = unit_cents * quantity
        line_discount = (gross * percent_off + 50) // 100
        tax_percent = TAX_PERCENT.get(category, DEFAULT_TAX_PERCENT)
        subtotal += gross
        discount += line_discount
        tax += ((gross - line_discount) * tax_percent + 50) // 100
        weight += weight_g * quantity
    shipping = 0
    if subtotal - discount < FREE_SHIPPING_FROM_CENTS:
        shipping = SHIPPING_CENTS_PER_KG * -(-weight // 1000)
    return {
        "order": order["order"],
        "lines": len(order["items"]),
        "subtotal_cents": subtotal,
        "discount_cents": discount,
        "tax_cents": tax,
        "shipping_cents": shipping,
        "total_cents": subtotal - discount + tax + shipping,
    }
