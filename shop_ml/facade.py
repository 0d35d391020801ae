"""The one door between Django and ml/.

Views, forms and commands call the functions here; the apps import nothing
else of ML but `shop_ml.tasks`, which queues the background work (the import
direction is at the top of docs/architecture.md). Each artifact is loaded
lazily, once per process, from
settings.MODELS_DIR. A missing or corrupt artifact logs one error and the
functions fall back (empty suggestions, popularity, no results): they never
raise into a request.

Which products may be shown (one rule for similar items, visually similar,
customers also bought, recommended for you and photo search): every ranking
here is over all the products the models know, inactive and sold-out ones
included, and none of these functions filters. The caller asks for more than
it shows and turns the skus into products with `main.selectors.purchasable_by_sku`
/ `purchasable_in_order`, the one place the purchasable rule (active and in
stock, `Product.objects.purchasable()`) is applied: in one query for every
section of a page, at the moment the page is built.
"""
import hashlib
import logging
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Q, Subquery

from main.models import Interaction, Product
from ml import artifacts
from ml.artifacts import ArtifactError, current_folder, current_version
from ml.categorization.training import ARTIFACT_NAMES, load_model
from ml.fusion.listing import ListingCategorizer
from ml.fusion.training import load as load_fused
from ml.lazy import LazyArtifact
from ml.recommend import store
from ml.recommend.hybrid import HybridRecommender, popular_reason
from ml.vision.preprocess import ImageError
from ml.vision.runtime import SHIPPED_ONNX, EncoderUnavailable, OnnxEncoder
from ml.vision.search import DEFAULT_COLOUR_WEIGHT, ImageSearch

log = logging.getLogger("ml")
_ARTIFACTS = []


def _register(name, loader, versioned=True):
    """A lazily loaded artifact; `versioned` ones reload when MODELS_DIR/<name>/CURRENT changes."""
    version = (lambda: current_version(models_dir(), name)) if versioned else None
    artifact = LazyArtifact(name, loader, version=version)
    _ARTIFACTS.append(artifact)
    return artifact


def models_dir():
    return Path(settings.MODELS_DIR)


def artifact_status():
    """For /healthz and callers naming what they serve: per artifact, whether it is
    loaded, the version CURRENT names on disk, and why it is not loaded."""
    return {a.name: {"loaded": a.loaded, "version": current_version(models_dir(), a.name),
                     **({"error": a.error} if a.error else {})}
            for a in _ARTIFACTS}


def warm_up():
    """Load every artifact now (gunicorn calls this once per server, before the first request)."""
    for artifact in _ARTIFACTS:
        artifact.get()


def reload():
    """Forget loaded artifacts so the next call loads the CURRENT versions."""
    for artifact in _ARTIFACTS:
        artifact.reset()


# --- model registry ---
# What the staff model registry page lists and switches (ml/artifacts.py).
def model_versions(name):
    """(CURRENT version or None, every version's model card) of artifact `name`."""
    return current_version(models_dir(), name), artifacts.versions(models_dir(), name)


def serve_version(name, version):
    """Make `version` the served one and drop this process's loaded models."""
    artifacts.activate_version(models_dir(), name, version)
    reload()


# --- recommendations ---
# Similar items, "recommended for you" and "customers also bought" (ml/recommend/).
# The hybrid blends in the visual section's `visual_neighbours(sku, k)`.
def _load_recommender(loader_name):
    def load():
        return getattr(store, loader_name)(models_dir())[0]
    return load


_recommender_content = _register("recommender-content", _load_recommender("load_content"))
_recommender_collaborative = _register(
    "recommender-collaborative", _load_recommender("load_collaborative"))
RECENT_HISTORY = 50


# The recommenders an A/B test can compare: the full blend, or text content alone.
VARIANTS = ("hybrid", "content")
CONTENT_ONLY = {"collaborative": 0.0, "content": 1.0, "visual": 0.0, "popularity": 0.0}


def _recommender(variant="hybrid", visual=None):
    """The hybrid over whatever is loaded, or None when no recommender is trained.
    `visual` scores what looks alike (default: `visual_neighbours`)."""
    content, collaborative = _recommender_content.get(), _recommender_collaborative.get()
    if content is None and collaborative is None:
        return None
    visual = (visual or visual_neighbours) if variant == "hybrid" else None
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
        log.exception("recommendations: %s failed, showing none", what)
        return []


def similar_products(product, k=8, variant="hybrid", looks_alike=None):
    """[(sku, score, reason)] like `product` (same gender unless Unisex; never itself).

    The "hybrid" variant blends in visual neighbours; "content" uses text alone.
    `looks_alike`, the product's `visual_neighbours` when the caller has them already,
    saves a second search of the photo index.
    """
    def visual(sku, k):
        return looks_alike[:k] if sku == product.sku and len(looks_alike) >= k else visual_neighbours(sku, k)
    recommender = _recommender(variant, visual if looks_alike is not None else None)
    if recommender is None:
        return []
    return _safely("similar_products", lambda: recommender.similar(
        product.sku, k, product=_product_row(product)))


def also_bought(product, k=8, content_fill=True):
    """[(sku, score, reason)]: co-purchases, then taste neighbours, then (unless
    `content_fill` is False) content neighbours for a product nobody bought yet."""
    recommender = _recommender()
    if recommender is None:
        return []
    return _safely("also_bought", lambda: recommender.also_bought(
        product.sku, k, product=_product_row(product), content_fill=content_fill))


def shopper_history(user_or_session):
    """[(sku, kind)] of a user's or a session key's latest interactions, oldest first:
    what "recommended for you" reads."""
    if user_or_session is None:
        return []
    if isinstance(user_or_session, str):
        interactions = Interaction.objects.filter(session_key=user_or_session)
    elif getattr(user_or_session, "is_authenticated", False):
        interactions = Interaction.objects.filter(user=user_or_session)
    else:
        return []
    # The latest rows first, then their skus: joined before the LIMIT, a shopper with
    # thousands of views (a crawler) had every one of them joined to its product.
    latest = interactions.order_by("-created_at").values("pk")[:RECENT_HISTORY]
    recent = (Interaction.objects.filter(pk__in=Subquery(latest)).order_by("-created_at")
              .values_list("product__sku", "kind"))
    return list(reversed(recent))


POPULAR_CACHE_SECONDS = 300
FOR_YOU_CACHE_SECONDS = 300


def _popular_from_database(segment, k):
    """Popularity straight from the database, for when no model is trained yet.

    One GROUP BY over products and their purchases, so it is cached per segment.
    """
    segment_key = hashlib.sha1(repr(sorted((segment or {}).items())).encode()).hexdigest()
    key = f"ml:popular:{segment_key}:{k}"
    ranked = cache.get(key)
    if ranked is None:
        ranked = _count_purchases(segment, k)
        cache.set(key, ranked, POPULAR_CACHE_SECONDS)
    return [(sku, float(n), popular_reason(segment)) for sku, n in ranked]


def _count_purchases(segment, k):
    products = Product.objects.all()
    for key, value in (segment or {}).items():
        if value and key == "gender":
            products = products.filter(gender__in=[value, "Unisex"])
        elif value and key in ("master_category", "sub_category", "article_type"):
            products = products.filter(**{key: value})
    return list(products.annotate(n=Count("interactions", filter=Q(interactions__kind="purchase")))
                .order_by("-n", "-created_at").values_list("sku", "n")[:k])


def for_you_key(history, segment=None, k=10, variant="hybrid"):
    """What a "recommended for you" ranking depends on, as a cache key: the same
    history, page and models give the same ranking."""
    models = (_recommender_content, _recommender_collaborative, _image_search)
    for model in models:  # loaded first: a key made before the first ranking equals one made after
        model.get()
    return "ml:for-you:" + hashlib.sha1(repr((
        variant, sorted((segment or {}).items()), k, history, [model.version for model in models],
    )).encode()).hexdigest()


def recommended_for(user_or_session, segment=None, k=10, variant="hybrid", history=None):
    """"Recommended for you": [(sku, score, reason)] for a user or a session key.

    `segment` is what the page shows ({"gender": ..., "sub_category": ...}); a
    shopper with no history gets what is popular there. The "content" variant
    scores by text similarity to the shopper's history alone. `history`, the
    shopper's `shopper_history` when the caller has read it already, saves reading it again.
    """
    def recommend():
        recent = shopper_history(user_or_session) if history is None else history
        recommender = _recommender(variant)
        if recommender is None:
            return _popular_from_database(segment, k)
        # Kept a few minutes: the blend searches the photo index for each recent product.
        key = for_you_key(recent, segment, k, variant)
        results = cache.get(key)
        if results is None:
            weights = CONTENT_ONLY if variant == "content" and recent else None
            results = recommender.recommend(recent, k, segment=segment, weights=weights)
            cache.set(key, results, FOR_YOU_CACHE_SECONDS)
        return results or _popular_from_database(segment, k)
    return _safely("recommended_for", recommend)


def recommendations_ready():
    """Is a content recommender loaded (similar items can be answered)?"""
    return _recommender_content.get() is not None


# --- visual search ---
# Photo search, "visually similar" and the seller form's article-type second
# opinion (ml/vision/, ml/ann.py). Every function here returns an empty answer
# (and logs) on a missing or corrupt artifact or an unreadable photo; none raises.

_image_index_lock = threading.Lock()


def _load_image_search():
    return ImageSearch.load(models_dir(), threads=settings.IMAGE_THREADS)


ENCODER_ARTIFACT = "image-encoder"
# The served encoder is the ONNX export (run by ONNX Runtime: the web process never
# imports torch); the torch checkpoint beside it is only for training.
ENCODER_FILE = "encoder.onnx"


def colour_weight():
    """settings.IMAGE_COLOUR_WEIGHT, or the weight tuned on the validation split."""
    if settings.IMAGE_COLOUR_WEIGHT is not None:
        return settings.IMAGE_COLOUR_WEIGHT
    return DEFAULT_COLOUR_WEIGHT


def encoder_file():
    """The .onnx encoder to embed with: settings, then the trained artifact, then the shipped one.

    None when there is none (the shipped file was removed and nothing was trained).
    """
    configured = settings.IMAGE_ENCODER
    if configured:
        if Path(configured).is_file():
            return Path(configured)
        log.error("IMAGE_ENCODER %s does not exist; ignoring it", configured)
    try:
        trained = current_folder(models_dir(), ENCODER_ARTIFACT) / ENCODER_FILE
        if trained.is_file():
            return trained
    except ArtifactError:
        pass
    return SHIPPED_ONNX if SHIPPED_ONNX.is_file() else None


def load_image_encoder(colour_weight=0.0):
    """The OnnxEncoder of `encoder_file()`; EncoderUnavailable if there is none."""
    path = encoder_file()
    if path is None:
        raise EncoderUnavailable("no image encoder: run `manage.py train_image_model`")
    return OnnxEncoder(path, colour_weight=colour_weight, threads=settings.IMAGE_THREADS)


def _load_image_classifier():
    """The served index's encoder if it has a head, else the configured/trained/shipped one."""
    search = _image_search.get()
    if search is not None and search.encoder.can_classify:
        return search.encoder
    encoder = load_image_encoder()
    if not encoder.can_classify:
        raise ValueError(f"{encoder.path} has no article-type head")
    return encoder


_image_search = _register("image-embeddings", _load_image_search)
# How often a worker looks for photos another process (the Celery worker) added.
ADDED_PHOTOS_CHECK_SECONDS = 5.0
_added_photos_checked_at = 0.0


def _served_image_search():
    """The loaded image index, with the photos other processes have added since it
    last looked (at most every ADDED_PHOTOS_CHECK_SECONDS); None when not loaded."""
    global _added_photos_checked_at
    search = _image_search.get()
    if search is not None and time.monotonic() - _added_photos_checked_at >= ADDED_PHOTOS_CHECK_SECONDS:
        _added_photos_checked_at = time.monotonic()
        with _image_index_lock:
            search.load_added()
    return search
_image_classifier = _register("image-classifier", _load_image_classifier)


def _visual_safely(what, call):
    try:
        return call()
    except ImageError as exc:
        log.warning("visual search: %s got an unreadable photo: %s", what, exc)
    except Exception:  # visual search is optional: log, never break the page
        log.exception("visual search: %s failed, showing none", what)
    return []


class ModelBusy(Exception):
    """Every forward-pass slot of this worker stayed taken for ML_FORWARD_PASS_WAIT_SECONDS."""


# A forward pass holds the photo, its activations and a core; a burst of uploads must
# queue for a slot instead of all running at once (memory and latency of every request).
_forward_passes = threading.BoundedSemaphore(settings.ML_FORWARD_PASSES_PER_WORKER)


@contextmanager
def _forward_pass_slot():
    if not _forward_passes.acquire(timeout=settings.ML_FORWARD_PASS_WAIT_SECONDS):
        raise ModelBusy("every forward-pass slot of this worker is taken")
    try:
        yield
    finally:
        _forward_passes.release()


def similar_to_image(image, k=10):
    """[(sku, cosine)] of the products whose photos look most like `image`.

    `image`: an uploaded file, a path, bytes or a PIL image. Raises ModelBusy when the
    worker's forward-pass slots stay taken; the caller answers "try again".
    """
    def run():
        search = _served_image_search()
        if search is None or k < 1:
            return []
        return search.similar_to_image(image, k)
    with _forward_pass_slot():
        return _visual_safely("similar_to_image", run)


def visual_neighbours(sku, k):
    """[(sku, cosine)] of the products that look like product `sku` (never itself):
    the "Visually similar" section, and the visual scores the hybrid blends in."""
    def run():
        search = _served_image_search()
        return search.similar_to_sku(sku, k) if search is not None and k > 0 else []
    return _visual_safely("visual_neighbours", run)


def predict_article_type_from_image(image, top=3):
    """[(article_type, probability)], most likely first: the seller form's second opinion.
    Raises ModelBusy as similar_to_image does."""
    def run():
        encoder = _image_classifier.get()
        if encoder is None:
            return []
        return encoder.predict([image], top=top)[0]
    with _forward_pass_slot():
        return _visual_safely("predict_article_type_from_image", run)


# The photo index's label fields (ml/vision/search.py) -> Product fields.
PHOTO_LABEL_FIELDS = {"articleType": "article_type", "baseColour": "base_colour"}


def photo_labels(product):
    """{"articleType": ..., "baseColour": ...}: the product's labels the photo index ranks by."""
    return {field: getattr(product, name) for field, name in PHOTO_LABEL_FIELDS.items()}


def index_product(product):
    """Embed `product`'s photo and add it to the served index (no rebuild). True if added.

    Call it after commit when a product is created, or its photo or its `photo_labels`
    change.
    """
    def run():
        search = _image_search.get()
        if search is None or not product.image:
            return False
        with _image_index_lock:
            with product.image.open("rb") as handle:
                search.add(product.sku, handle.read(), labels=photo_labels(product))
        return True
    result = _visual_safely("index_product", run)
    return result if isinstance(result, bool) else False


def visual_search_status():
    """For /healthz: whether photo search and the article-type classifier are loaded."""
    search = _image_search.get()
    status = {"image-embeddings": {"loaded": search is not None,
                                   "version": current_version(models_dir(), "image-embeddings"),
                                   **(search.status() if search is not None else {}),
                                   **({"error": _image_search.error} if _image_search.error else {})}}
    classifier = _image_classifier.get()
    status["image-classifier"] = {"loaded": classifier is not None,
                                  **({"classes": len(classifier.classes)} if classifier else {}),
                                  **({"error": _image_classifier.error}
                                     if _image_classifier.error else {})}
    return status


# --- categorization ---
# Suggested gender / categories / colour / season / usage for a product name
# (ml/categorization/). Two models: "default" (TF-IDF + linear SVMs, the one to
# use) and "cascade" (the hierarchical Naive Bayes). Both load lazily, once per
# process, and follow a retraining on disk; with no usable artifact the
# functions log and answer with no suggestions.
CATEGORIZER_KINDS = ("default", "cascade")
MAX_CATEGORIZE_BATCH = 10_000


def _categorizer_artifact(kind):
    def load():
        return load_model(models_dir(), kind)[0]

    artifact = LazyArtifact(ARTIFACT_NAMES[kind], load,
                            version=lambda: current_version(models_dir(), ARTIFACT_NAMES[kind]))
    _ARTIFACTS.append(artifact)
    return artifact


_categorizers = {kind: _categorizer_artifact(kind) for kind in CATEGORIZER_KINDS}


def categorizer(model="default"):
    """The loaded categorizer of kind `model`, or None (error logged once) when unusable."""
    artifact = _categorizers.get(model)
    if artifact is None:
        log.error("categorize: unknown model %r (use one of %s)",
                                  model, ", ".join(CATEGORIZER_KINDS))
        return None
    return artifact.get()


def categorize(names, model="default"):
    """Suggestions for product names, one dict per name in order, or [] without a model.

    Each dict: name, gender, masterCategory, subCategory, articleType, baseColour,
    season, usage, confidence ({field: probability}) and candidates (top-3
    articleTypes with probabilities). Never raises.
    """
    if isinstance(names, str):
        names = [names]
    names = list(names)[:MAX_CATEGORIZE_BATCH]
    predictor = categorizer(model)
    if predictor is None or not names:
        return []
    try:
        return predictor.predict(names)
    except Exception:  # suggestions are optional: log, never break the form
        log.exception("categorize: %s model failed, no suggestions", model)
        return []


# --- name and photo together ---
# The fused categorizer (ml/fusion/): a listing's name and photo pooled into one
# suggestion, the colour read from the photo, and the name/photo disagreements the
# seller form words. It needs the "default" name categorizer and its own artifact
# (which carries the encoder it was fitted on); without either, listings are
# answered from the name alone with the reason in `photo_error`.
FUSED_ARTIFACT = "categorizer-fused"
# What a seller form's saved suggestions may name as their model.
SUGGESTION_MODELS = CATEGORIZER_KINDS + ("fused",)


def _load_fused():
    fused, encoder_path, card = load_fused(models_dir())
    return ListingCategorizer(fused, OnnxEncoder(encoder_path, threads=settings.IMAGE_THREADS), card)


_fused = _register(FUSED_ARTIFACT, _load_fused)


def fused_categorizer():
    """The loaded ListingCategorizer, or None (error logged once) when it is unusable."""
    return _fused.get()


def categorize_listings(items):
    """One suggestion dict per (name, photo) in `items`, in order (ml/fusion/listing.py).

    `photo` may be None, a path, bytes, a file or a PIL image; `name` may be "".
    Answers from name and photo together when the fused model is loaded, else from
    the name with `photo_error` saying why. [] when no name categorizer is usable.
    Raises ModelBusy when a photo needs a forward pass and no slot frees up.
    """
    items = list(items)[:MAX_CATEGORIZE_BATCH]
    name_model = categorizer("default")
    if name_model is None or not items:
        return []
    listing = _fused.get() if any(photo is not None for _, photo in items) else None
    if listing is None:
        results = categorize([name or "" for name, _ in items])
        for result, (_, photo) in zip(results, items):
            result["source"] = "name"
            if photo is not None:
                result["photo_error"] = "no fused categorizer is trained"
        return results
    with _forward_pass_slot():
        try:
            return listing.predict(name_model, items)
        except Exception:  # suggestions are optional: log, answer from the names
            log.exception("categorize: fused model failed, answering from the names")
            return categorize_listings([(name, None) for name, _ in items])
