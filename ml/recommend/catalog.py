"""Product rows as the recommenders see them, and the rules every method shares.

A product row is a dict with the shop's field names (sku, name, description,
gender, master_category, sub_category, article_type, base_colour, season, year,
usage, price, stock, is_active). `normalise_product` also accepts the raw
styles.csv rows of `ml.styles_csv.load_rows`, so experiments and benchmarks
run without a database.
"""
import hashlib

UNISEX = "Unisex"
ATTRIBUTES = ("gender", "master_category", "sub_category", "article_type", "base_colour",
              "season", "usage")
SEGMENT_KEYS = ("gender", "master_category", "sub_category", "article_type")

# styles.csv column -> shop field
_CSV_FIELDS = {
    "id": "sku", "productDisplayName": "name", "gender": "gender",
    "masterCategory": "master_category", "subCategory": "sub_category",
    "articleType": "article_type", "baseColour": "base_colour", "season": "season",
    "year": "year", "usage": "usage",
}
# (low, high) invented price band by master category, for styles.csv rows that
# carry no price (the shop's importer invents prices the same way, per product).
_PRICE_BANDS = {"Apparel": (399, 2999), "Footwear": (699, 4999), "Accessories": (199, 2999),
                "Personal Care": (149, 1499)}


def stable_unit(text):
    """A number in [0, 1) that depends only on `text` (no global random state)."""
    digest = hashlib.blake2b(str(text).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def normalise_product(row):
    """A shop-shaped product dict from a shop row or a styles.csv row."""
    if "sku" not in row and "id" in row:
        row = {_CSV_FIELDS[key]: value for key, value in row.items() if key in _CSV_FIELDS}
    product = {
        "sku": str(row["sku"]),
        "name": str(row.get("name") or ""),
        "description": str(row.get("description") or ""),
        "year": row.get("year"),
        "stock": int(row["stock"]) if row.get("stock") is not None else 1,
        "is_active": bool(row.get("is_active", True)),
    }
    for attribute in ATTRIBUTES:
        product[attribute] = str(row.get(attribute) or "").strip()
    price = row.get("price")
    if price in (None, ""):
        low, high = _PRICE_BANDS.get(product["master_category"], (199, 1499))
        price = round(low + (high - low) * stable_unit("price:" + product["sku"]))
    product["price"] = float(price)
    return product


def gender_compatible(a, b):
    """Same gender, unless either side is Unisex (or unknown)."""
    return a == b or UNISEX in (a, b) or not a or not b


def in_segment(product, segment):
    """Does `product` belong to `segment` ({"gender": "Men", "sub_category": ...})?"""
    for key, value in (segment or {}).items():
        if not value or key not in SEGMENT_KEYS:
            continue
        if key == "gender":
            if not gender_compatible(product.get("gender", ""), value):
                return False
        elif product.get(key) != value:
            return False
    return True


def make_allowed(allowed):
    """A predicate sku -> bool from None (everything), a container of skus or a callable."""
    if allowed is None:
        return lambda sku: True
    if callable(allowed):
        return allowed
    return allowed.__contains__
