"""The one door between Django and ml/.

Views, forms and commands call the functions here; nothing else in the apps
imports from ml/. Each artifact is loaded lazily, once per process, from
settings.MODELS_DIR. A missing or corrupt artifact logs one error and the
functions fall back (empty suggestions, popularity, no results): they never
raise into a request.
"""
from django.conf import settings

from ml.lazy import LazyArtifact

_ARTIFACTS = []


def _register(name, loader):
    artifact = LazyArtifact(name, loader)
    _ARTIFACTS.append(artifact)
    return artifact


def models_dir():
    return settings.MODELS_DIR


def artifact_status():
    """For /healthz: which artifacts are loaded, and why one is not."""
    return {a.name: {"loaded": a.loaded, **({"error": a.error} if a.error else {})} for a in _ARTIFACTS}


def warm_up():
    """Load every artifact now (gunicorn calls this when a worker starts)."""
    for artifact in _ARTIFACTS:
        artifact.get()


def reload():
    """Forget loaded artifacts so the next call loads the CURRENT versions."""
    for artifact in _ARTIFACTS:
        artifact.reset()


# --- recommendations ---
# Similar items, "recommended for you" and "customers also bought" (ml/recommend/).
# The visual-search section may define `visual_neighbours(sku, k) -> [(sku, score)]`;
# when it does, the hybrid blends those scores in, and does without them otherwise.
def _load_recommender(loader_name):
    def load():
        from ml.recommend import store

        return getattr(store, loader_name)(models_dir())[0]
    return load


_recommender_content = _register("recommender-content", _load_recommender("load_content"))
_recommender_collaborative = _register(
    "recommender-collaborative", _load_recommender("load_collaborative"))
RECENT_HISTORY = 50


def _recommender():
    """The hybrid over whatever is loaded, or None when no recommender is trained."""
    content, collaborative = _recommender_content.get(), _recommender_collaborative.get()
    if content is None and collaborative is None:
        return None
    from ml.recommend.hybrid import HybridRecommender

    visual = globals().get("visual_neighbours")
    blend = collaborative.blend if collaborative is not None else {}
    return HybridRecommender(content, collaborative, visual=visual, **blend)


def _product_row(product):
    fields = ("sku", "name", "description", "gender", "master_category", "sub_category",
              "article_type", "base_colour", "season", "usage")
    return {field: getattr(product, field, "") or "" for field in fields}


def _safely(what, call):
    try:
        return call()
    except Exception:  # recommendations are optional: log, never break the page
        import logging

        logging.getLogger("ml").exception("recommendations: %s failed, showing none", what)
        return []


def similar_products(product, k=8, allowed=None):
    """[(sku, score, reason)] like `product` (same gender unless Unisex; never itself).

    `allowed` (skus or a predicate) narrows the candidates; stock and activity
    are the caller's to check (main.recommendations does it in one query).
    """
    recommender = _recommender()
    if recommender is None:
        return []
    return _safely("similar_products", lambda: recommender.similar(
        product.sku, k, allowed, product=_product_row(product)))


def also_bought(product, k=8, allowed=None):
    """[(sku, score, reason)]: co-purchases, then taste neighbours, then content neighbours."""
    recommender = _recommender()
    if recommender is None:
        return []
    return _safely("also_bought", lambda: recommender.also_bought(
        product.sku, k, allowed, product=_product_row(product)))


def _history(user_or_session):
    from main.models import Interaction

    if user_or_session is None:
        return []
    if isinstance(user_or_session, str):
        interactions = Interaction.objects.filter(session_key=user_or_session)
    elif getattr(user_or_session, "is_authenticated", False):
        interactions = Interaction.objects.filter(user=user_or_session)
    else:
        return []
    recent = interactions.order_by("-created_at").values_list("product__sku", "kind")
    return list(reversed(recent[:RECENT_HISTORY]))


def _popular_from_database(segment, k):
    """Popularity straight from the database, for when no model is trained yet."""
    from django.db.models import Count, Q

    from main.models import Product

    products = Product.objects.purchasable()
    for key, value in (segment or {}).items():
        if value and key == "gender":
            products = products.filter(gender__in=[value, "Unisex"])
        elif value and key in ("master_category", "sub_category", "article_type"):
            products = products.filter(**{key: value})
    ranked = (products.annotate(n=Count("interactions", filter=Q(interactions__kind="purchase")))
              .order_by("-n", "-created_at").values_list("sku", "n")[:k])
    from ml.recommend.hybrid import popular_reason

    return [(sku, float(n), popular_reason(segment)) for sku, n in ranked]


def recommended_for(user_or_session, segment=None, k=10, allowed=None):
    """"Recommended for you": [(sku, score, reason)] for a user or a session key.

    `segment` is what the page shows ({"gender": ..., "sub_category": ...}); a
    shopper with no history gets what is popular there.
    """
    def recommend():
        history = _history(user_or_session)
        recommender = _recommender()
        if recommender is None:
            return _popular_from_database(segment, k)
        results = recommender.recommend(history, k, segment=segment, allowed=allowed)
        return results or _popular_from_database(segment, k)
    return _safely("recommended_for", recommend)


def recommendations_ready():
    """Is a content recommender loaded (similar items can be answered)?"""
    return _recommender_content.get() is not None


def recommendations_status():
    """For /healthz: whether each recommender is loaded, and which version is served."""
    from ml.artifacts import current_version

    return {artifact.name: {"loaded": artifact.loaded,
                            "version": current_version(models_dir(), artifact.name),
                            **({"error": artifact.error} if artifact.error else {})}
            for artifact in (_recommender_content, _recommender_collaborative)}
