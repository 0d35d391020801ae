"""Writes of the experiments app: impressions, clicks, suggestion outcomes.

`assign_variant` writes nothing: a shopper's variant is a hash of the experiment
key and the user id (or session key), so it is the same on every request and
on every worker without storing an assignment.
"""
import hashlib
import logging
from bisect import bisect_right
from itertools import accumulate

from django.core.cache import cache
from django.db import IntegrityError

from experiments import selectors
from experiments.models import Click, Impression, SuggestionOutcome
from fashionshop.db import insert_hints

log = logging.getLogger(__name__)


def _assignment_unit(request):
    if request.user.is_authenticated:
        return f"user:{request.user.pk}"
    if request.session.session_key:
        return f"session:{request.session.session_key}"
    return None


def bucket(experiment_key, unit):
    """A number in [0, 1) that is uniform over units and fixed for one (key, unit)."""
    digest = hashlib.sha256(f"{experiment_key}:{unit}".encode()).hexdigest()
    return int(digest[:15], 16) / 16**15


def choose_variant(variants, point):
    """The variant whose slice of [0, 1) holds `point`; slices are proportional to weights.

    `variants` is a sequence of (name, weight) in a fixed order (by name), so the same
    weights always split shoppers the same way. None if no variant has any weight.
    """
    weighted = [(name, weight) for name, weight in variants if weight > 0]
    if not weighted:
        return None
    edges = list(accumulate(weight for _, weight in weighted))
    # min(): float rounding must never push a point just below 1 past the last slice.
    return weighted[min(bisect_right(edges, point * edges[-1]), len(weighted) - 1)][0]


def assign_variant(experiment_key, request):
    """The variant name this shopper sees, or None: experiment missing or inactive, or an
    anonymous visitor without a session yet (the caller then shows its default and
    records nothing, so unassignable visitors do not all pile into one variant)."""
    config = selectors.experiment_config(experiment_key)
    unit = _assignment_unit(request)
    if config is None or unit is None:
        return None
    weighted = [(name, weight) for name, (_, weight) in sorted(config["variants"].items())]
    return choose_variant(weighted, bucket(experiment_key, unit))


def record_impressions(request, experiment_key, variant, surface, skus):
    """Record that `skus` were shown, in order, in one widget; returns the Impressions
    (same order, with ids for `selectors.click_url`). One INSERT; nothing for variant None."""
    if surface not in Impression.Surface.values:
        raise ValueError(f"unknown surface {surface!r}; one of {Impression.Surface.values}")
    if variant is None:
        return []
    config = selectors.experiment_config(experiment_key)
    if config is None or variant not in config["variants"]:
        return []
    user = request.user if request.user.is_authenticated else None
    variant_id = config["variants"][variant][0]
    impressions = [
        Impression(
            experiment_id=config["id"], variant_id=variant_id, user=user,
            session_key="" if user else (request.session.session_key or ""),
            sku=str(sku), position=position, surface=surface,
        )
        for position, sku in enumerate(skus, start=1)
    ]
    try:
        return insert_hints(impressions)
    except IntegrityError:
        # The variant was deleted after this process cached the experiment's config:
        # losing these impressions is better than breaking the product page.
        log.warning("experiment %s: variant %s is gone, impressions not recorded", experiment_key, variant)
        forget_experiment_config(experiment_key)
        return []


def forget_experiment_config(experiment_key):
    """Make an edited experiment (weights, is_active) count at once on this process, and
    within a second on the others."""
    cache.delete(selectors.config_cache_key(experiment_key))
    selectors.forget_config_here(experiment_key)


def record_click(impression):
    """Count a followed recommendation once, however often the link is opened."""
    click, _ = Click.objects.get_or_create(impression=impression)
    return click


def record_suggestion_outcomes(product, suggested, saved, model_name=""):
    """Store, per suggested field, the categorizer's suggestion next to what the seller saved.

    `suggested` and `saved` map field names (e.g. "article_type") to values; fields
    with no suggestion are skipped, since there was nothing to accept or override.
    """
    outcomes = [
        SuggestionOutcome(
            product=product, field=field[:30], suggested=str(value)[:100],
            saved=str(saved.get(field) or "")[:100], model_name=(model_name or "")[:100],
        )
        for field, value in suggested.items()
        if value not in (None, "")
    ]
    return SuggestionOutcome.objects.bulk_create(outcomes)
