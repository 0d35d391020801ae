"""Simulated shoppers: a reproducible, clearly labelled interaction history.

The shop has a real catalog but no real customers yet, so recommenders are
trained and evaluated on SIMULATED behaviour. Every figure computed from these
rows must say so (`SIMULATED_LABEL`).

Each shopper has persistent tastes over the real taxonomy:

* a gender (shares as in the catalog) and sees that gender's and unisex items;
* 2-4 preferred article types, 2 colours and 1-2 brands (the first word of the
  product name), drawn in proportion to how common they are in the catalog;
* a price band (budget, mid, premium: a price percentile range within each
  article type);
* a hidden taste vector matching a hidden "style" vector per item, which no
  product attribute reveals: only co-behaviour (collaborative filtering) can
  learn it, as with real shoppers;
* an activity level (heavy and light shoppers).

Items have a popularity drawn from a heavy-tailed distribution (a few hits).
A session picks an article type (15% of the time any article type: noise),
views a few items drawn by taste x popularity, adds some to the cart (more
likely when colour, brand and price fit) and buys some of those at the end of
the session. Timestamps are ordered: sessions spread over `days`, views a
minute or so apart, add_to_cart after its view, purchases last.
"""
from collections import Counter
from datetime import datetime, timedelta, timezone

import numpy as np

from .catalog import UNISEX, normalise_product

SIMULATED_LABEL = "simulated shoppers (synthetic behaviour over the real catalog, not real customers)"
SHOPPER_PREFIX = "sim-shopper-"
SESSION_PREFIX = "sim-"
DEFAULT_START = datetime(2024, 1, 1, tzinfo=timezone.utc)
NOISE = 0.15
STYLE_DIM = 6
PRICE_BANDS = ((0.0, 0.4), (0.3, 0.7), (0.6, 1.0))


def brand_of(name):
    words = str(name).split()
    return words[0].lower() if words else ""


def _weighted_pick(rng, counts, size, power=1.0):
    """`size` distinct codes drawn in proportion to counts**power (codes with a count only)."""
    codes = np.flatnonzero(counts)
    if len(codes) == 0:
        return np.array([], dtype=int)
    weights = counts[codes].astype(float) ** power
    chosen = rng.choice(len(codes), size=min(size, len(codes)), replace=False,
                        p=weights / weights.sum())
    return codes[chosen]


def _sample_without_replacement(rng, probabilities, size):
    """Weighted sampling without replacement in one vectorised step (Gumbel top-k)."""
    keys = np.log(probabilities) + rng.gumbel(size=len(probabilities))
    if size >= len(keys):
        return np.argsort(-keys)
    top = np.argpartition(-keys, size - 1)[:size]
    return top[np.argsort(-keys[top])]


def _codes(values):
    vocabulary, codes = np.unique(np.asarray(values, dtype=object).astype(str),
                                  return_inverse=True)
    return codes.astype(np.int64), vocabulary.tolist()


class _Catalog:
    def __init__(self, products, rng):
        self.skus = [p["sku"] for p in products]
        self.gender, self.genders = _codes([p["gender"] for p in products])
        self.article_type, self.types = _codes([p["article_type"] for p in products])
        self.colour, self.colours = _codes([p["base_colour"] for p in products])
        self.brand, self.brands = _codes([brand_of(p["name"]) for p in products])
        price = np.array([p["price"] for p in products], dtype=float)
        # price percentile within the article type: what "budget" or "premium" means there
        self.price_rank = np.zeros(len(products))
        order = np.lexsort((price, self.article_type))
        sorted_types = self.article_type[order]
        for kind in np.unique(sorted_types):
            members = order[sorted_types == kind]
            self.price_rank[members] = (np.arange(len(members)) + 0.5) / len(members)
        self.popularity = rng.lognormal(0.0, 1.2, len(products))
        self.style = rng.normal(size=(len(products), STYLE_DIM))
        unisex = self.genders.index(UNISEX) if UNISEX in self.genders else -1
        self.visible = {g: (self.gender == g) | (self.gender == unisex)
                        for g in range(len(self.genders))}
        self.type_counts = {g: np.bincount(self.article_type[mask], minlength=len(self.types))
                            for g, mask in self.visible.items()}
        self.pools = {}

    def pool(self, gender, article_type):
        key = (gender, article_type)
        if key not in self.pools:
            self.pools[key] = np.flatnonzero(self.visible[gender]
                                             & (self.article_type == article_type))
        return self.pools[key]


class _Shopper:
    def __init__(self, number, catalog, gender_weights, rng, days):
        self.name = f"{SHOPPER_PREFIX}{number}"
        self.gender = int(rng.choice(len(gender_weights), p=gender_weights))
        counts = catalog.type_counts[self.gender]
        self.noise_types = np.flatnonzero(counts)
        self.noise_weights = counts[self.noise_types] / counts.sum()
        self.types = _weighted_pick(rng, counts, int(rng.integers(2, 5)), power=0.8)
        self.type_weights = rng.dirichlet(np.ones(len(self.types)) * 2.0)
        liked = np.concatenate([catalog.pool(self.gender, t) for t in self.types])
        self.colours = _weighted_pick(
            rng, np.bincount(catalog.colour[liked], minlength=len(catalog.colours)), 2)
        self.brands = _weighted_pick(
            rng, np.bincount(catalog.brand[liked], minlength=len(catalog.brands)),
            int(rng.integers(1, 3)))
        self.price_band = PRICE_BANDS[rng.integers(len(PRICE_BANDS))]
        self.taste = rng.normal(size=STYLE_DIM)
        rate = rng.lognormal(np.log(0.2), 0.7)  # sessions per day: heavy and light shoppers
        self.sessions = max(1, int(rng.poisson(rate * days)))
        self.cache = {}

    def weights(self, catalog, article_type):
        if article_type not in self.cache:
            items = catalog.pool(self.gender, article_type)
            colour = np.isin(catalog.colour[items], self.colours)
            brand = np.isin(catalog.brand[items], self.brands)
            low, high = self.price_band
            price = (catalog.price_rank[items] >= low) & (catalog.price_rank[items] <= high)
            style = catalog.style[items] @ self.taste / np.sqrt(STYLE_DIM)
            weights = (catalog.popularity[items] * np.exp(1.2 * style)
                       * np.where(colour, 4.0, 1.0) * np.where(brand, 3.0, 1.0)
                       * np.where(price, 3.0, 1.0))
            affinity = (colour.astype(float) + brand + price) / 3.0
            self.cache[article_type] = (items, weights / weights.sum(), affinity, style)
        return self.cache[article_type]


def simulate(products_rows, n_shoppers, days, seed, start=None):
    """Interaction rows of simulated shoppers, oldest first.

    Each row: {"user": "sim-shopper-N", "session": "sim-<seed>-N-S", "sku",
    "kind": view | add_to_cart | purchase, "ts": aware datetime, "simulated": True}.
    The same arguments always give the same rows; another seed gives others.
    Inactive products are never shown to shoppers.
    """
    if n_shoppers < 0 or days <= 0:
        raise ValueError("n_shoppers must be >= 0 and days > 0")
    rng = np.random.default_rng(seed)
    start = start or DEFAULT_START
    products = [normalise_product(p) for p in products_rows]
    products = [p for p in products if p["is_active"]]
    if not products or n_shoppers == 0:
        return []
    catalog = _Catalog(products, rng)
    gender_weights = np.bincount(catalog.gender, minlength=len(catalog.genders)).astype(float)
    if UNISEX in catalog.genders and len(catalog.genders) > 1:
        gender_weights[catalog.genders.index(UNISEX)] = 0.0  # a shopper has a gender
    gender_weights /= gender_weights.sum()
    rows = []
    for number in range(1, n_shoppers + 1):
        shopper = _Shopper(number, catalog, gender_weights, rng, days)
        offsets = np.sort(rng.uniform(0, days * 86400.0, shopper.sessions))
        for session_number, offset in enumerate(offsets, 1):
            session = f"{SESSION_PREFIX}{seed}-{number}-{session_number}"
            if rng.random() < NOISE or len(shopper.types) == 0:
                article_type = int(rng.choice(shopper.noise_types, p=shopper.noise_weights))
            else:
                article_type = int(rng.choice(shopper.types, p=shopper.type_weights))
            items, probabilities, affinity, style = shopper.weights(catalog, article_type)
            if len(items) == 0:
                continue
            n_views = min(len(items), 1 + int(rng.poisson(4)))
            picked = _sample_without_replacement(rng, probabilities, n_views)
            clock = start + timedelta(seconds=float(offset))
            carted = []
            for position in picked:
                sku = catalog.skus[items[position]]
                rows.append(_row(shopper, session, sku, "view", clock))
                clock += timedelta(seconds=float(rng.uniform(5, 40)))
                liking = 0.6 * affinity[position] + 0.4 / (1 + np.exp(-2 * style[position]))
                if rng.random() < 0.03 + 0.3 * liking:
                    rows.append(_row(shopper, session, sku, "add_to_cart", clock))
                    carted.append(sku)
                clock += timedelta(seconds=float(rng.uniform(20, 120)))
            for sku in carted:
                if rng.random() < 0.45:
                    clock += timedelta(seconds=float(rng.uniform(5, 30)))
                    rows.append(_row(shopper, session, sku, "purchase", clock))
    rows.sort(key=lambda r: (r["ts"], r["user"]))
    return rows


def _row(shopper, session, sku, kind, ts):
    return {"user": shopper.name, "session": session, "sku": sku, "kind": kind, "ts": ts,
            "simulated": True}


def describe(rows):
    """Counts for a report, with the label every report must carry."""
    kinds = Counter(r["kind"] for r in rows)
    return {"data": SIMULATED_LABEL, "interactions": len(rows),
            "shoppers": len({r["user"] for r in rows}),
            "products_touched": len({r["sku"] for r in rows}), **dict(sorted(kinds.items()))}
