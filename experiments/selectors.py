"""Reads of the experiments app: assignment config, click links, results."""
from django.core import signing
from django.core.cache import cache
from django.db.models import Count, F, Q
from django.urls import reverse

from experiments.models import Experiment, Impression, SuggestionOutcome, Variant
from experiments.stats import difference_interval, wilson_interval
from fashionshop.cache import HeldHere

# Assignment runs on every product page; the config is cached so it costs no query,
# and each process keeps what it read for a second so it costs no Redis round trip
# either. An edit forgets both (services.forget_experiment_config): the other
# processes see it within that second.
CONFIG_CACHE_SECONDS = 60
_config_here = HeldHere(seconds=1.0)
CLICK_SALT = "experiments.click"


def config_cache_key(experiment_key):
    return f"experiments:config:{experiment_key}"


def experiment_config(experiment_key):
    """{"id", "variants": {name: (variant_id, weight)}} of an active experiment, else None."""
    config = _config_here.get(experiment_key, lambda: _shared_config(experiment_key))
    return config if config["id"] is not None and config["variants"] else None


def _shared_config(experiment_key):
    key = config_cache_key(experiment_key)
    config = cache.get(key)
    if config is None:
        experiment = (Experiment.objects.filter(key=experiment_key, is_active=True)
                      .prefetch_related("variants").first())
        config = {"id": None, "variants": {}} if experiment is None else {
            "id": experiment.pk,
            "variants": {v.name: (v.pk, v.weight) for v in experiment.variants.all()},
        }
        # A missing experiment is cached too (id None), so an unknown key costs no query either.
        cache.set(key, config, CONFIG_CACHE_SECONDS)
    return config


def forget_config_here(experiment_key=None):
    """Read `experiment_key`'s config (every one when None) from the shared cache next time."""
    _config_here.forget(experiment_key)


def click_url(impression):
    """The link to put on a recommended product: it records the click, then opens the product.

    The impression id is signed, so nobody can count clicks on impressions they were not shown
    by editing the URL.
    """
    token = signing.Signer(salt=CLICK_SALT).sign(str(impression.pk))
    return reverse("experiments:click", args=[token])


def impression_for_token(token):
    """The Impression a click link names, or None for a tampered or stale link."""
    try:
        pk = int(signing.Signer(salt=CLICK_SALT).unsign(token))
    except (signing.BadSignature, ValueError):
        return None
    return Impression.objects.filter(pk=pk).only("id", "sku").first()


def _rate(clicks, impressions):
    interval = wilson_interval(clicks, impressions)
    return {
        "impressions": impressions, "clicks": clicks,
        "ctr": clicks / impressions if impressions else None,
        "low": interval[0] if interval else None, "high": interval[1] if interval else None,
    }


def experiment_results(surface=""):
    """Per experiment, per variant: impressions, clicks, CTR with its 95% Wilson interval,
    and the difference from the control variant with its 95% Newcombe interval.

    Two queries whatever the number of experiments: the variants, and one grouped count.
    """
    impressions = Impression.objects.all()
    if surface:
        impressions = impressions.filter(surface=surface)
    counts = {
        row["variant_id"]: row
        for row in impressions.values("variant_id").order_by()
        .annotate(impressions=Count("id"), clicks=Count("click"))
    }
    results = {}
    for variant in Variant.objects.select_related("experiment").order_by(
        "-experiment__created_at", "experiment_id", "-is_control", "name"
    ):
        row = counts.get(variant.pk, {"impressions": 0, "clicks": 0})
        entry = results.setdefault(variant.experiment_id, {"experiment": variant.experiment, "variants": []})
        entry["variants"].append({"variant": variant, **_rate(row["clicks"], row["impressions"])})
    for entry in results.values():
        # Without a variant marked as control, the first by name is the baseline.
        control = entry["variants"][0]
        entry["control"] = control["variant"]
        for row in entry["variants"]:
            diff = None
            if row is not control:
                diff = difference_interval(row["clicks"], row["impressions"],
                                           control["clicks"], control["impressions"])
            row["difference"] = None if diff is None else dict(zip(("value", "low", "high"), diff))
            row["significant"] = diff is not None and (diff[1] > 0 or diff[2] < 0)
    return list(results.values())


def click_through_by_surface(since=None):
    """Impressions, clicks and CTR (with Wilson interval) of every recommendation widget."""
    impressions = Impression.objects.all()
    if since is not None:
        impressions = impressions.filter(created_at__gte=since)
    rows = (impressions.values("surface").order_by("surface")
            .annotate(impressions=Count("id"), clicks=Count("click")))
    labels = dict(Impression.Surface.choices)
    return [{"surface": row["surface"], "label": labels.get(row["surface"], row["surface"]),
             **_rate(row["clicks"], row["impressions"])} for row in rows]


def suggestion_override_rates():
    """Per field: how many suggestions sellers saved, and how often they changed them."""
    rows = (SuggestionOutcome.objects.values("field").order_by("field")
            .annotate(total=Count("id"), overridden=Count("id", filter=~Q(suggested=F("saved")))))
    return [{**row, "rate": row["overridden"] / row["total"]} for row in rows]
