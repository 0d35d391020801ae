"""Recommender training, evaluation and simulated shoppers, against the database.

The `train_models` steps "recommender-content" and "recommender-collaborative"
and the `evaluate_models --recs` report live here; the commands register them.
Everything model-side is plain Python in ml/recommend/; this module only reads
and writes the database.
"""
import json
from datetime import timedelta
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from main.models import Interaction, Product
from ml.recommend import store
from ml.recommend.collaborative import CollaborativeModel
from ml.recommend.content import ContentModel
from ml.recommend.evaluation import compare, time_split, tune_hybrid
from ml.recommend.simulation import SESSION_PREFIX, SHOPPER_PREFIX, SIMULATED_LABEL, simulate
from shop_ml import facade
from shop_ml.management import say

PRODUCT_FIELDS = ("sku", "name", "description", "gender", "master_category", "sub_category",
                  "article_type", "base_colour", "season", "year", "usage", "price", "stock",
                  "is_active")
REPORT = Path("reports") / "recommendations.json"
# Below this many shoppers with a test period, the evaluation simulates shoppers instead.
MIN_EVALUATION_SHOPPERS = 30
EVALUATION_SHOPPERS, EVALUATION_DAYS, EVALUATION_SEED = 1500, 60, 0
BATCH = 5000


def product_rows():
    rows = []
    for row in Product.objects.order_by("id").values(*PRODUCT_FIELDS).iterator(chunk_size=5000):
        row["price"] = float(row["price"])
        rows.append(row)
    return rows


def interaction_rows():
    """Every interaction, oldest first, in ml/recommend's row format."""
    values = (Interaction.objects.order_by("created_at", "id")
              .values_list("user_id", "session_key", "product__sku", "kind", "created_at"))
    return [{"user": user or "", "session": session or "", "sku": sku, "kind": kind, "ts": ts,
             "simulated": session.startswith(SESSION_PREFIX)}
            for user, session, sku, kind, ts in values.iterator(chunk_size=10000)]


def describe_data(rows):
    simulated = sum(1 for row in rows if row.get("simulated"))
    return {"interactions": len(rows), "simulated_interactions": simulated,
            "source": SIMULATED_LABEL if simulated else "recorded shop interactions",
            "note": ("figures come from simulated shoppers" if simulated else "")}


def train_content(stdout=None, **options):
    """train_models step "recommender-content": similar items from the catalog text."""

    products = product_rows()
    if not products:
        say(stdout, "recommender-content: no products, nothing to train")
        return None
    model = ContentModel(text=options.get("text", "count")).fit(products)
    folder = store.save_content(facade.models_dir(), model, data={
        "source": "Product table", "products": len(products),
        "active_products": sum(1 for p in products if p["is_active"])})
    facade.reload()
    say(stdout, f"recommender-content: {len(products)} products, top-{model.k} neighbours "
                 f"in {model.train_seconds:.1f}s -> {folder}")
    return folder


def train_collaborative(stdout=None, **options):
    """train_models step "recommender-collaborative": ALS, co-purchases, popularity, blend."""

    rows = interaction_rows()
    if not rows:
        say(stdout, "recommender-collaborative: no interactions yet (run simulate_shoppers "
                     "for a simulated history); nothing to train")
        return None
    products = product_rows()
    attributes = {p["sku"]: p for p in products}
    model = CollaborativeModel().fit(rows, attributes)
    metrics = {}
    if options.get("tune", True):
        try:
            content, _ = store.load_content(facade.models_dir())
            model.blend, sweep = tune_hybrid(content, rows, attributes)
            metrics["validation_sweep_ndcg@10"] = sweep
        except Exception as exc:  # no content model or too little history: keep the defaults
            say(stdout, f"recommender-collaborative: blend left at defaults ({exc})")
    folder = store.save_collaborative(facade.models_dir(), model, data=describe_data(rows),
                                      metrics=metrics)
    facade.reload()
    say(stdout, f"recommender-collaborative: {model.stats} in {model.train_seconds:.1f}s "
                 f"-> {folder}")
    return folder


STEPS = {"recommender-content": train_content,
         "recommender-collaborative": train_collaborative}


def evaluate(stdout=None, max_shoppers=1000, **options):
    """evaluate_models --recs: all methods side by side -> MODELS_DIR/reports/recommendations.json."""

    products = product_rows()
    rows = interaction_rows()
    _, test = time_split(rows)
    data = describe_data(rows)
    if len(test) < MIN_EVALUATION_SHOPPERS:
        rows = simulate(products, EVALUATION_SHOPPERS, EVALUATION_DAYS, EVALUATION_SEED)
        data = {**describe_data(rows), "note": (
            f"too little recorded history ({len(test)} shoppers with a test period): "
            f"figures come from {EVALUATION_SHOPPERS} simulated shoppers over "
            f"{EVALUATION_DAYS} days, seed {EVALUATION_SEED}")}
    try:
        content, _ = store.load_content(facade.models_dir())
    except Exception:
        content = None
    result = compare(products, rows, content=content, max_shoppers=max_shoppers)
    report = {"created_at": timezone.now().isoformat(), "data": data, **result}
    path = facade.models_dir() / REPORT
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    for name, metrics in report["methods"].items():
        say(stdout, f"{name:>13}: " + ", ".join(f"{key} {value}" for key, value in metrics.items()))
    say(stdout, f"({data['source']}) -> {path}")
    return report


# ---- simulated shoppers -------------------------------------------------------------
def _is_simulated_user(user):
    return (user.username.startswith(SHOPPER_PREFIX) and not user.is_active
            and not user.has_usable_password())


def clear_simulated():
    """Delete simulated interactions and simulated users; real data is never touched."""
    deleted, _ = Interaction.objects.filter(session_key__startswith=SESSION_PREFIX).delete()
    User = get_user_model()
    users = [u.pk for u in User.objects.filter(username__startswith=SHOPPER_PREFIX)
             if _is_simulated_user(u)]
    User.objects.filter(pk__in=users, interactions__isnull=True).delete()
    return deleted


def simulate_shoppers(shoppers, days, seed, stdout=None):
    """Replace the simulated history with a fresh one; returns the number of interactions."""
    products = product_rows()
    start = timezone.now() - timedelta(days=days)
    rows = simulate(products, shoppers, days, seed, start=start)
    by_sku = dict(Product.objects.filter(sku__in={r["sku"] for r in rows})
                  .values_list("sku", "id"))
    User = get_user_model()
    with transaction.atomic():
        clear_simulated()
        names = sorted({row["user"] for row in rows})
        taken = set(User.objects.filter(username__in=names).values_list("username", flat=True))
        new_users = []
        for name in names:
            if name not in taken:
                user = User(username=name, is_active=False)
                user.set_unusable_password()
                new_users.append(user)
        User.objects.bulk_create(new_users, batch_size=1000)
        ids = {u.username: u.pk for u in User.objects.filter(username__in=names)
               if _is_simulated_user(u)}
        batch = [Interaction(user_id=ids.get(row["user"]), session_key=row["session"],
                             product_id=by_sku[row["sku"]], kind=row["kind"],
                             created_at=row["ts"])
                 for row in rows]
        Interaction.objects.bulk_create(batch, batch_size=BATCH)
    say(stdout, f"{len(rows)} simulated interactions from {len(names)} simulated shoppers "
                 f"over {days} days (seed {seed}); labelled: {SIMULATED_LABEL}")
    return len(rows)
