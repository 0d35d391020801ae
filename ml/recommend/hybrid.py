"""The hybrid recommender: collaborative + content + visual + popularity.

Scores from each source are scaled to [0, 1] over that source's candidates
and blended with weights that depend on how much the shopper has done:

    n = distinct products in the history,  g = n / (n + HISTORY_HALF)
    collaborative  g            (nothing to fold in for a newcomer)
    content        CONTENT      (what they looked at is always informative)
    visual         VISUAL       (only when a visual scorer is passed in)
    popularity     POPULARITY * (1 - g)

then normalised to sum to 1. With no history at all the chain ends in
popularity inside the segment being browsed (gender/category of the page). A
product nobody has interacted with still gets content (and visual) neighbours,
for "similar items" and "customers also bought" alike.

The visual scorer is any callable `visual(sku, k) -> [(sku, score)]`; it may be
absent, and if it fails the hybrid carries on without it.
"""
import logging
from collections import defaultdict

import numpy as np

from .catalog import gender_compatible, make_allowed
from .collaborative import REASON_COLLABORATIVE, aggregate
from .content import REASON_STYLE

log = logging.getLogger("ml")

# chosen on a validation split of the training period (docs/ml/recommendations.md)
HISTORY_HALF = 5
CONTENT = 0.4
VISUAL = 0.25
POPULARITY = 0.3
CANDIDATES = 200
RECENT_ITEMS = 20
VISUAL_SHARE = 0.3  # of a "similar items" score, when a visual scorer is present

REASON_CONTENT = "similar to what you viewed"
REASON_VISUAL = "looks like what you viewed"
REASON_POPULAR = "popular right now"


def popular_reason(segment):
    """"popular in Women Footwear": the gender and the most specific category browsed."""
    segment = segment or {}
    category = next((segment[key] for key in ("article_type", "sub_category", "master_category")
                     if segment.get(key)), None)
    words = [word for word in (segment.get("gender"), category) if word]
    return f"popular in {' '.join(words)}" if words else REASON_POPULAR


class HybridRecommender:
    def __init__(self, content=None, collaborative=None, visual=None, history_half=HISTORY_HALF,
                 content_weight=CONTENT, visual_weight=VISUAL, popularity_weight=POPULARITY):
        self.content = content
        self.collaborative = collaborative
        self.visual = visual
        self.history_half = history_half
        self.content_weight = content_weight
        self.visual_weight = visual_weight
        self.popularity_weight = popularity_weight

    # ---- weights --------------------------------------------------------
    def weights_for(self, n_items):
        """Blend weights (summing to 1) for a shopper with `n_items` distinct products seen."""
        if n_items <= 0:
            return {"collaborative": 0.0, "content": 0.0, "visual": 0.0, "popularity": 1.0}
        g = n_items / (n_items + self.history_half)
        raw = {
            "collaborative": g if self.collaborative is not None else 0.0,
            "content": self.content_weight if self.content is not None else 0.0,
            "visual": self.visual_weight if self.visual is not None else 0.0,
            "popularity": self.popularity_weight * (1 - g),
        }
        total = sum(raw.values()) or 1.0
        return {name: value / total for name, value in raw.items()}

    # ---- sources ----------------------------------------------------------
    def _visual(self, sku, k):
        if self.visual is None:
            return []
        try:
            return list(self.visual(sku, k) or [])
        except Exception as exc:  # a broken visual index must not take recommendations down
            log.error("visual scorer failed for %s, continuing without it: %s", sku, exc)
            return []

    def _recent(self, history):
        """{sku: weight} of the most recent RECENT_ITEMS distinct products."""
        recent = {}
        for item in reversed(list(history)):
            sku, kind = (item["sku"], item["kind"]) if isinstance(item, dict) else item
            recent.setdefault(str(sku), 0.0)
            if len(recent) >= RECENT_ITEMS:
                break
        weights = aggregate(history)
        return {sku: weights.get(sku, 0.0) or 1.0 for sku in recent}

    def _content_scores(self, recent):
        scores = defaultdict(float)
        if self.content is None:
            return scores
        total = sum(recent.values()) or 1.0
        for sku, weight in recent.items():
            i = self.content.index.get(sku)
            if i is None:
                continue
            for j, cosine in zip(self.content.neighbours[i].tolist(),
                                 self.content.scores[i].tolist()):
                scores[self.content.skus[j]] += weight / total * cosine
        return scores

    def _visual_scores(self, recent):
        scores = defaultdict(float)
        if self.visual is None:
            return scores
        strongest = sorted(recent.items(), key=lambda item: -item[1])[:5]
        total = sum(w for _, w in strongest) or 1.0
        for sku, weight in strongest:
            for other, score in self._visual(sku, 30):
                scores[str(other)] += weight / total * float(score)
        return scores

    def _collaborative_scores(self, weights_by_sku, exclude):
        if self.collaborative is None:
            return {}
        dense = self.collaborative.scores(weights_by_sku)
        if dense is None:
            return {}
        size = min(len(dense), CANDIDATES + len(exclude))
        top = np.argpartition(-dense, size - 1)[:size]
        return {self.collaborative.skus[i]: float(dense[i]) for i in top
                if self.collaborative.skus[i] not in exclude}

    def _dominant_gender(self, weights_by_sku):
        if self.content is None:
            return None
        totals = defaultdict(float)
        for sku, weight in weights_by_sku.items():
            attributes = self.content.product_attributes(sku)
            if attributes and attributes["gender"]:
                totals[attributes["gender"]] += weight
        specific = {g: w for g, w in totals.items() if g != "Unisex"}
        pool = specific or totals
        return max(pool, key=pool.get) if pool else None

    @staticmethod
    def _scaled(scores):
        """Scores scaled to [0, 1] by the best one (negative collaborative scores become 0)."""
        if not scores:
            return {}
        best = max(scores.values())
        if best <= 0:
            return {}
        return {sku: max(score, 0.0) / best for sku, score in scores.items()}

    # ---- shopper -> items -----------------------------------------------
    def recommend(self, history, k=10, segment=None, allowed=None, weights=None):
        """"Recommended for you": [(sku, score, reason)].

        `history`: the shopper's interactions, oldest first, as (sku, kind)
        pairs or interaction rows. `segment`: what the shopper is browsing
        ({"gender": ..., "sub_category": ...}), used for the cold start and to
        keep results in the page's gender. `weights` overrides the blend (the
        evaluation uses it to score each source alone).
        """
        history = list(history)
        allowed = make_allowed(allowed)
        weights_by_sku = aggregate(history)
        seen = set(weights_by_sku)
        blend = weights or self.weights_for(len(seen))
        segment = dict(segment or {})
        if "gender" not in segment:
            gender = self._dominant_gender(weights_by_sku)
            if gender:
                segment["gender"] = gender
        recent = self._recent(history)
        sources = {
            "collaborative": self._collaborative_scores(weights_by_sku, seen)
            if blend.get("collaborative") else {},
            "content": self._content_scores(recent) if blend.get("content") else {},
            "visual": self._visual_scores(recent) if blend.get("visual") else {},
        }
        if blend.get("popularity") and self.collaborative is not None:
            popular = self.collaborative.popularity.top(CANDIDATES, segment, allowed, seen)
            if not popular and segment:  # an empty segment: fall back to the gender, then all
                narrower = {"gender": segment["gender"]} if segment.get("gender") else None
                popular = self.collaborative.popularity.top(CANDIDATES, narrower, allowed, seen)
            sources["popularity"] = dict(popular)
        scaled = {name: self._scaled(scores) for name, scores in sources.items()}
        combined = defaultdict(float)
        best_source = {}
        for name, scores in scaled.items():
            weight = blend.get(name, 0.0)
            for sku, score in scores.items():
                contribution = weight * score
                combined[sku] += contribution
                if contribution > best_source.get(sku, (None, -1.0))[1]:
                    best_source[sku] = (name, contribution)
        reasons = {"collaborative": REASON_COLLABORATIVE, "content": REASON_CONTENT,
                   "visual": REASON_VISUAL, "popularity": popular_reason(segment)}
        ranked = sorted(combined.items(), key=lambda item: (-item[1], item[0]))
        results = []
        for sku, score in ranked:
            if sku in seen or score <= 0 or not allowed(sku):
                continue
            if not self._fits_segment(sku, segment):
                continue
            results.append((sku, score, reasons[best_source[sku][0]]))
            if len(results) >= k:
                break
        return results

    def _fits_segment(self, sku, segment):
        if self.content is None or not segment:
            return True
        attributes = self.content.product_attributes(sku)
        if attributes is None:
            return True
        if segment.get("gender") and not gender_compatible(attributes["gender"], segment["gender"]):
            return False
        return True

    # ---- item -> items ----------------------------------------------------
    def similar(self, sku, k=8, allowed=None, product=None):
        """Similar items: stored content neighbours, blended with visual ones when available."""
        sku = str(sku)
        if self.content is None:
            return []
        if sku not in self.content and product is not None:
            return self.content.similar_to_product(product, k, allowed)
        content = self.content.similar(sku, k=self.content.k, allowed=allowed)
        visual = self._visual(sku, 2 * k) if self.visual is not None else []
        if not visual:
            return content[:k]
        allowed_fn = make_allowed(allowed)
        attributes = self.content.product_attributes(sku) or {}
        blended = {s: ((1 - VISUAL_SHARE) * score, reason) for s, score, reason in content}
        for other, score in visual:
            other = str(other)
            if other == sku or not allowed_fn(other):
                continue
            mine = self.content.product_attributes(other)
            if mine is None or not gender_compatible(attributes.get("gender", ""), mine["gender"]):
                continue
            previous, reason = blended.get(other, (0.0, None))
            if reason is None:
                i, j = self.content.index[sku], self.content.index[other]
                reason = self.content.reason(i, j)
                if reason == REASON_STYLE:
                    reason = "looks alike"
            blended[other] = (previous + VISUAL_SHARE * float(score), reason)
        ranked = sorted(blended.items(), key=lambda item: (-item[1][0], item[0]))
        return [(s, score, reason) for s, (score, reason) in ranked[:k]]

    def also_bought(self, sku, k=8, allowed=None, product=None, content_fill=True):
        """"Customers also bought": co-purchases, then item factors, then content neighbours.

        `content_fill=False` stops before the content neighbours, for a page that
        already shows similar items and should not relabel them as purchases.
        """
        sku = str(sku)
        results = []
        if self.collaborative is not None:
            results = self.collaborative.also_bought(sku, k, allowed)
        if self.content is not None and sku in self.content:
            attributes = self.content.product_attributes(sku)
            results = [r for r in results if gender_compatible(
                attributes["gender"], (self.content.product_attributes(r[0]) or attributes)["gender"])]
        if len(results) < k and content_fill:
            taken = {s for s, _, _ in results} | {sku}
            for other, score, reason in self.similar(sku, k * 2, allowed, product):
                if other not in taken:
                    taken.add(other)
                    # content comes after any shopper evidence
                    results.append((other, 0.25 * score, reason))
                    if len(results) >= k:
                        break
        return results[:k]

    def popular(self, k=10, segment=None, allowed=None):
        if self.collaborative is None:
            return []
        reason = popular_reason(segment)
        return [(sku, score, reason)
                for sku, score in self.collaborative.popularity.top(k, segment, allowed)]
