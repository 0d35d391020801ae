"""Recommendations through Django: commands, training steps, facade, product page."""
import json
import logging
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from main.models import Interaction
from main.recommendations import ALSO_BOUGHT, SIMILAR, product_page_sections
from ml.artifacts import current_folder
from ml.recommend import store
from ml.recommend.simulation import SIMULATED_LABEL
from shop_ml import facade
from shop_ml.management import recommendations as recs
from tests.factories import InteractionFactory, ProductFactory, SellerFactory, UserFactory

pytestmark = pytest.mark.django_db

TYPES = (("Tshirts", "Topwear"), ("Jeans", "Bottomwear"), ("Shirts", "Topwear"))


@pytest.fixture(autouse=True)
def fresh_facade():
    facade.reload()
    yield
    facade.reload()


@pytest.fixture
def catalog():
    seller = SellerFactory()
    products = []
    for gender in ("Men", "Women"):
        for kind, sub in TYPES:
            for colour in ("Blue", "Black"):
                for brand in ("Nike", "Puma"):
                    products.append(ProductFactory(
                        seller=seller, name=f"{brand} {gender} {colour} {kind}", gender=gender,
                        article_type=kind, sub_category=sub, base_colour=colour,
                        price=Decimal("799")))
    return {p.name: p for p in products}


def run(*args, **options):
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


# ---- recommend ------------------------------------------------------------------------
def test_recommend_trains_if_needed_and_prints_json(catalog, settings):
    tee = catalog["Nike Men Blue Tshirts"]
    out_of_stock = catalog["Puma Men Blue Tshirts"]
    out_of_stock.stock = 0
    out_of_stock.save()
    out, err = run("recommend", sku=tee.sku, k=3)
    results = json.loads(out)
    assert len(results) == 3 and all(set(r) == {"sku", "score"} for r in results)
    skus = [r["sku"] for r in results]
    assert tee.sku not in skus and out_of_stock.sku not in skus
    assert catalog["Nike Men Black Tshirts"].sku in skus
    women = {p.sku for p in catalog.values() if p.gender == "Women"}
    assert not set(skus) & women
    assert current_folder(settings.MODELS_DIR, store.CONTENT).is_dir()
    assert "training" in err
    # the second run reuses the saved artifact
    facade.reload()
    again, err = run("recommend", sku=tee.sku, k=3)
    assert json.loads(again) == results and "training" not in err


def test_recommend_refuses_an_unknown_sku_and_a_bad_k(catalog):
    with pytest.raises(CommandError, match="unknown sku"):
        run("recommend", sku="no-such-sku")
    with pytest.raises(CommandError):
        run("recommend", sku=next(iter(catalog.values())).sku, k=0)


# ---- simulate_shoppers ----------------------------------------------------------------
def test_simulate_shoppers_is_idempotent_and_leaves_real_data_alone(catalog):
    real_user = UserFactory(username="sim-shopper-real")  # a real account with that name
    real = InteractionFactory(user=real_user, product=next(iter(catalog.values())))
    run("simulate_shoppers", shoppers=5, days=10, seed=3)
    simulated = Interaction.objects.filter(session_key__startswith="sim-")
    first = sorted(simulated.values_list("session_key", "product__sku", "kind"))
    assert first
    assert not get_user_model().objects.filter(username__startswith="sim-shopper-",
                                               is_active=True).exclude(pk=real_user.pk).exists()
    run("simulate_shoppers", shoppers=5, days=10, seed=3)
    assert sorted(simulated.values_list("session_key", "product__sku", "kind")) == first
    run("simulate_shoppers", shoppers=5, days=10, seed=4, if_empty=True)  # kept: one exists
    assert sorted(simulated.values_list("session_key", "product__sku", "kind")) == first
    run("simulate_shoppers", shoppers=5, days=10, seed=4)
    assert sorted(simulated.values_list("session_key", "product__sku", "kind")) != first
    run("simulate_shoppers", clear=True)
    assert not simulated.exists()
    assert Interaction.objects.filter(pk=real.pk).exists()
    assert get_user_model().objects.filter(pk=real_user.pk).exists()
    assert not get_user_model().objects.filter(username__startswith="sim-shopper-") \
        .exclude(pk=real_user.pk).exists()
    with pytest.raises(CommandError):
        run("simulate_shoppers", shoppers=0)


# ---- training steps, facade, evaluation -------------------------------------------------
@pytest.fixture
def trained(catalog):
    recs.simulate_shoppers(30, 20, seed=1)
    assert recs.train_content() is not None
    assert recs.train_collaborative(tune=False) is not None
    return catalog


def test_training_steps_write_carded_artifacts(trained, settings):
    _, card = store.load_collaborative(settings.MODELS_DIR)
    assert card["data"]["source"] == SIMULATED_LABEL
    assert card["data"]["simulated_interactions"] == card["data"]["interactions"] > 0
    assert set(recs.STEPS) == {"recommender-content", "recommender-collaborative"}
    status = facade.artifact_status()
    assert status["recommender-content"]["version"]


def test_facade_answers_every_question_with_reasons(trained):
    tee = trained["Nike Men Blue Tshirts"]
    similar = facade.similar_products(tee, k=4)
    assert similar and all(reason for _, _, reason in similar)
    assert tee.sku not in {s for s, _, _ in similar}
    assert facade.also_bought(tee, k=4)
    # a new session has no history: popular items in the segment it browses
    cold = facade.recommended_for("brand-new-session", {"gender": "Women"}, k=3)
    women = {p.sku for p in trained.values() if p.gender in ("Women", "Unisex")}
    assert cold and {s for s, _, _ in cold} <= women
    assert all(reason.startswith("popular in") for _, _, reason in cold)
    user = UserFactory()
    InteractionFactory(user=user, product=tee)
    warm = facade.recommended_for(user, k=3)
    assert warm and tee.sku not in {s for s, _, _ in warm}


def test_a_shoppers_ranking_is_kept_until_their_history_changes(trained, monkeypatch):
    from ml.recommend.hybrid import HybridRecommender

    ranked = []
    recommend = HybridRecommender.recommend
    monkeypatch.setattr(HybridRecommender, "recommend",
                        lambda self, *args, **kwargs: ranked.append(1) or recommend(self, *args, **kwargs))
    user = UserFactory()
    InteractionFactory(user=user, product=trained["Nike Men Blue Tshirts"])
    first = facade.recommended_for(user, k=3)
    assert facade.recommended_for(user, k=3) == first and len(ranked) == 1
    InteractionFactory(user=user, product=trained["Nike Men Black Tshirts"])
    facade.recommended_for(user, k=3)
    assert len(ranked) == 2


def test_missing_or_corrupt_artifacts_fall_back_with_one_log_line(catalog, settings, caplog):
    tee = catalog["Nike Men Blue Tshirts"]
    with caplog.at_level(logging.ERROR, logger="ml"):
        assert facade.similar_products(tee) == []
        assert facade.also_bought(tee) == []
        assert facade.similar_products(tee) == []
    assert len([r for r in caplog.records if "recommender-content" in r.getMessage()]) == 1
    InteractionFactory(product=tee, kind=Interaction.Kind.PURCHASE)
    popular = facade.recommended_for("some-session", {"gender": "Men"}, k=2)
    assert popular[0][0] == tee.sku  # popularity straight from the database
    recs.train_content()
    (current_folder(settings.MODELS_DIR, store.CONTENT) / "model.joblib").write_bytes(b"junk")
    facade.reload()
    assert facade.similar_products(tee) == []
    assert facade.artifact_status()["recommender-content"]["loaded"] is False


def test_evaluate_writes_a_labelled_report(catalog, settings, monkeypatch):
    monkeypatch.setattr(recs, "EVALUATION_SHOPPERS", 30)
    monkeypatch.setattr(recs, "EVALUATION_DAYS", 15)
    report = recs.evaluate(max_shoppers=50)
    saved = json.loads((settings.MODELS_DIR / "reports" / "recommendations.json").read_text())
    assert saved["data"]["source"] == SIMULATED_LABEL and "simulated" in saved["data"]["note"]
    assert set(saved["methods"]) == {"popularity", "content", "collaborative", "hybrid"}
    assert report["methods"]["hybrid"]["ndcg@10"] == saved["methods"]["hybrid"]["ndcg@10"]


# ---- product page ----------------------------------------------------------------------
def shopper_request(user=None):
    from django.contrib.auth.models import AnonymousUser
    from django.contrib.sessions.backends.db import SessionStore
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = user or AnonymousUser()
    request.session = SessionStore()
    request.session.create()
    return request


def test_product_page_sections_are_purchasable_in_ml_order(trained):
    tee = trained["Nike Men Blue Tshirts"]
    hidden = trained["Puma Men Blue Tshirts"]
    hidden.is_active = False
    hidden.save()
    sections = product_page_sections(tee, shopper_request(), None)
    assert [s.title for s in sections][0] == SIMILAR
    shown = [p for s in sections for p, _ in s.items]
    assert hidden not in shown and tee not in shown
    assert len({p.sku for p in shown}) == len(shown)  # a product appears once
    assert all(s.title in (SIMILAR, ALSO_BOUGHT) for s in sections)
    for section in sections:  # "also bought" is shopper evidence, never relabelled content
        if section.title == ALSO_BOUGHT:
            assert all(reason.startswith("customers who") for _, reason in section.items)


def test_product_page_renders_recommendations_with_few_queries(
        client, trained, django_assert_max_num_queries):
    tee = trained["Nike Men Blue Tshirts"]
    # The first visit sets the cookie, the second (a shopper who kept it) creates the session.
    client.get(tee.get_absolute_url())
    client.get(tee.get_absolute_url())
    with django_assert_max_num_queries(6):  # the page's own 5 + one for all recommended products
        response = client.get(tee.get_absolute_url())
    assert response.status_code == 200
    sections = response.context["recommendation_sections"]
    assert sections[0].title == SIMILAR
    html = response.content.decode()
    assert trained["Nike Men Black Tshirts"].get_absolute_url() in html


def test_recommendations_template_shows_reasons(trained):
    from django.template.loader import render_to_string

    sections = product_page_sections(trained["Nike Men Blue Tshirts"], shopper_request(), None)
    html = render_to_string("main/partials/recommendations.html",
                            {"recommendation_sections": sections})
    assert "Similar items" in html and "recommendation-reason" in html
    assert "Same article type" in html


def test_the_recommenders_experiment_records_impressions_and_tracks_clicks(client, trained):
    from experiments.models import Experiment, Impression, Variant

    experiment = Experiment.objects.create(key="recommenders", is_active=True)
    Variant.objects.create(experiment=experiment, name="content", weight=1, is_control=True)
    tee = trained["Nike Men Blue Tshirts"]
    client.get(reverse("main:home"))  # a shopper who keeps cookies: impressions need a session
    response = client.get(tee.get_absolute_url())
    shown = [p for section in response.context["recommendation_sections"] for p in section.products]
    impressions = list(Impression.objects.order_by("position"))
    assert [i.sku for i in impressions if i.surface == "similar"] == [
        p.sku for p in response.context["recommendation_sections"][0].products]
    assert {i.variant.name for i in impressions} == {"content"}
    html = response.content.decode()
    assert all(p.click_url in html for p in shown)
    # Following a link counts a click and opens the product.
    followed = client.get(shown[0].click_url)
    assert followed.status_code == 302 and followed["Location"] == shown[0].get_absolute_url()
    assert Impression.objects.filter(click__isnull=False).get().sku == shown[0].sku


def test_home_recommends_for_the_shopper(client, trained):
    tee = trained["Nike Men Blue Tshirts"]
    client.get(tee.get_absolute_url())  # a view gives the session some history
    response = client.get(reverse("main:home"))
    sections = response.context["recommendation_sections"]
    assert sections and sections[0].title == "Recommended for you"
    assert tee not in sections[0].products  # never what the shopper just looked at


def test_product_page_sections_are_rendered_once_outside_an_experiment(client, trained, monkeypatch):
    from shop_ml import facade

    calls = []
    similar = facade.similar_products
    monkeypatch.setattr(facade, "similar_products", lambda *a, **kw: calls.append(1) or similar(*a, **kw))
    tee = trained["Nike Men Blue Tshirts"]
    first = client.get(tee.get_absolute_url()).content.decode()
    second = client.get(tee.get_absolute_url()).content.decode()
    assert len(calls) == 1
    assert "Similar items" in first and "Similar items" in second


def test_home_recommendations_are_rendered_once_per_history_and_catalog_version(
        client, trained, monkeypatch):
    from main import recommendations
    from main.facets import catalog_changed

    built = []
    sections = recommendations.for_you_sections
    monkeypatch.setattr(recommendations, "for_you_sections",
                        lambda *args, **kwargs: built.append(1) or sections(*args, **kwargs))
    user = UserFactory()
    client.force_login(user)
    InteractionFactory(user=user, product=trained["Nike Men Blue Tshirts"])
    assert "Recommended for you" in client.get(reverse("main:home")).content.decode() and len(built) == 1
    assert "Recommended for you" in client.get(reverse("main:home")).content.decode() and len(built) == 1
    InteractionFactory(user=user, product=trained["Puma Women Black Jeans"])  # a new history
    client.get(reverse("main:home"))
    assert len(built) == 2
    catalog_changed()  # a seller's edit: prices and stock shown may have changed
    client.get(reverse("main:home"))
    assert len(built) == 3
    client.force_login(UserFactory())  # a newcomer: what is popular, shared by newcomers
    client.get(reverse("main:home"))
    client.logout()
    client.get(reverse("main:home"))
    assert len(built) == 4


def test_a_shoppers_history_is_their_latest_interactions_oldest_first(django_assert_num_queries):
    from datetime import timedelta

    from django.utils import timezone

    seller, start = SellerFactory(), timezone.now() - timedelta(days=1)
    products = [ProductFactory(seller=seller) for _ in range(facade.RECENT_HISTORY + 5)]
    for minute, product in enumerate(products):
        kind = Interaction.Kind.ADD_TO_CART if minute % 7 == 0 else Interaction.Kind.VIEW
        InteractionFactory(user=None, session_key="crawler", product=product, kind=kind,
                           created_at=start + timedelta(minutes=minute))
    InteractionFactory(user=None, session_key="someone-else", product=products[0])
    with django_assert_num_queries(1):
        history = facade.shopper_history("crawler")
    latest = products[-facade.RECENT_HISTORY:]
    assert [sku for sku, _ in history] == [p.sku for p in latest]
    assert history[-1][1] == (Interaction.Kind.ADD_TO_CART if (len(products) - 1) % 7 == 0 else Interaction.Kind.VIEW)
    assert facade.shopper_history("nobody") == [] and facade.shopper_history(None) == []
