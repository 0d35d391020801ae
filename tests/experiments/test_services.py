from collections import Counter

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from django.db.models import ProtectedError
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from experiments import selectors, services
from experiments.models import Experiment, Impression, SuggestionOutcome, Variant
from tests.factories import ProductFactory, UserFactory


def request_for(user=None, session_key=None):
    request = RequestFactory().get("/p/1/")
    request.user = user or AnonymousUser()
    request.session = SessionStore(session_key=session_key)
    return request


def anonymous_with_session():
    request = request_for()
    request.session.create()
    return request


@pytest.mark.django_db
def test_same_user_gets_the_same_variant_on_every_request(experiment, django_assert_num_queries):
    user = UserFactory()
    first = services.assign_variant(experiment.key, request_for(user))
    with django_assert_num_queries(0):
        again = [services.assign_variant(experiment.key, request_for(user)) for _ in range(20)]
    assert first in {"content", "hybrid"}
    assert set(again) == {first}


@pytest.mark.django_db
def test_anonymous_shoppers_are_assigned_by_session(experiment):
    request = anonymous_with_session()
    variant = services.assign_variant(experiment.key, request)
    assert variant in {"content", "hybrid"}
    assert services.assign_variant(experiment.key, request_for(session_key=request.session.session_key)) == variant


@pytest.mark.django_db
def test_anonymous_without_session_is_not_assigned_and_no_session_is_created(experiment):
    request = request_for()
    assert services.assign_variant(experiment.key, request) is None
    assert request.session.session_key is None


@pytest.mark.django_db
def test_unknown_or_inactive_experiment_assigns_nobody(experiment):
    user = UserFactory()
    assert services.assign_variant("no-such-experiment", request_for(user)) is None
    Experiment.objects.filter(pk=experiment.pk).update(is_active=False)
    services.forget_experiment_config(experiment.key)
    assert services.assign_variant(experiment.key, request_for(user)) is None


@pytest.mark.django_db
def test_a_config_is_kept_in_the_process_and_an_edit_forgets_it(experiment, django_assert_num_queries):
    user = UserFactory()
    assert services.assign_variant(experiment.key, request_for(user)) is not None
    cache.clear()  # even with the shared copy gone, this process asks neither Redis nor the database
    with django_assert_num_queries(0):
        assert services.assign_variant(experiment.key, request_for(user)) is not None
    Experiment.objects.filter(pk=experiment.pk).update(is_active=False)
    services.forget_experiment_config(experiment.key)
    assert services.assign_variant(experiment.key, request_for(user)) is None


def test_bucket_is_deterministic_and_depends_on_the_experiment():
    assert services.bucket("a", "user:1") == services.bucket("a", "user:1")
    assert 0 <= services.bucket("a", "user:1") < 1
    assignments = {services.bucket(key, "user:1") for key in ("a", "b", "c", "d")}
    assert len(assignments) == 4


def test_distribution_follows_the_weights_over_10k_ids():
    variants = [("content", 1), ("hybrid", 3)]
    counts = Counter(services.choose_variant(variants, services.bucket("exp", f"user:{i}"))
                     for i in range(10_000))
    # 3σ of a binomial(10000, 0.25) is about 130.
    assert abs(counts["content"] - 2_500) < 150
    assert abs(counts["hybrid"] - 7_500) < 150


def test_zero_weight_variants_are_never_chosen():
    variants = [("a", 0), ("b", 2), ("c", 0)]
    assert {services.choose_variant(variants, i / 100) for i in range(100)} == {"b"}
    assert services.choose_variant([("a", 0)], 0.5) is None


@pytest.mark.django_db
def test_record_impressions_is_one_insert_in_display_order(experiment):
    user = UserFactory()
    request = request_for(user)
    variant = services.assign_variant(experiment.key, request)
    with CaptureQueriesContext(connection) as queries:
        impressions = services.record_impressions(request, experiment.key, variant, "similar",
                                                  ["15970", "39386", "59263"])
    assert [q["sql"].split()[0] for q in queries if "SAVEPOINT" not in q["sql"]] == ["INSERT"]
    assert [(i.sku, i.position) for i in impressions] == [("15970", 1), ("39386", 2), ("59263", 3)]
    assert all(i.pk for i in impressions)
    stored = Impression.objects.get(sku="39386")
    assert (stored.user, stored.variant.name, stored.surface) == (user, variant, "similar")


@pytest.mark.django_db
def test_record_impressions_for_an_anonymous_session(experiment):
    request = anonymous_with_session()
    variant = services.assign_variant(experiment.key, request)
    [impression] = services.record_impressions(request, experiment.key, variant, "for_you", ["1"])
    assert impression.user is None
    assert impression.session_key == request.session.session_key


@pytest.mark.django_db
def test_record_impressions_records_nothing_without_a_variant(experiment, django_assert_num_queries):
    request = request_for(UserFactory())
    # Configs, present or missing, are cached after the first look.
    services.assign_variant(experiment.key, request)
    services.assign_variant("no-such-experiment", request)
    with django_assert_num_queries(0):
        assert services.record_impressions(request, experiment.key, None, "similar", ["1"]) == []
        assert services.record_impressions(request, experiment.key, "not-a-variant", "similar", ["1"]) == []
        assert services.record_impressions(request, "no-such-experiment", "content", "similar", ["1"]) == []


@pytest.mark.django_db
def test_record_impressions_refuses_an_unknown_surface(experiment):
    with pytest.raises(ValueError):
        services.record_impressions(request_for(UserFactory()), experiment.key, "content", "sidebar", ["1"])


@pytest.mark.django_db
def test_record_click_counts_one_click_per_impression(experiment):
    request = request_for(UserFactory())
    [impression] = services.record_impressions(request, experiment.key, "content", "similar", ["1"])
    services.record_click(impression)
    services.record_click(impression)
    assert impression.__class__.objects.filter(click__isnull=False).count() == 1


@pytest.mark.django_db
def test_experiment_results_with_intervals_and_difference(experiment, django_assert_max_num_queries):
    content = experiment.variants.get(name="content")
    hybrid = experiment.variants.get(name="hybrid")
    Impression.objects.bulk_create(
        [Impression(experiment=experiment, variant=hybrid, sku=str(i), position=1, surface="similar")
         for i in range(10)]
        + [Impression(experiment=experiment, variant=content, sku=str(i), position=1, surface="similar")
           for i in range(10)]
        + [Impression(experiment=experiment, variant=content, sku="x", position=1, surface="for_you")]
    )
    for impression in Impression.objects.filter(variant=hybrid)[:9]:
        services.record_click(impression)
    for impression in Impression.objects.filter(variant=content, surface="similar")[:3]:
        services.record_click(impression)

    with django_assert_max_num_queries(2):
        [entry] = selectors.experiment_results(surface="similar")
    assert entry["control"] == content
    control_row, hybrid_row = entry["variants"]
    assert (control_row["impressions"], control_row["clicks"]) == (10, 3)
    assert (hybrid_row["impressions"], hybrid_row["clicks"]) == (10, 9)
    assert hybrid_row["ctr"] == pytest.approx(0.9)
    assert (hybrid_row["low"], hybrid_row["high"]) == pytest.approx((0.596, 0.982), abs=1e-3)
    assert (hybrid_row["difference"]["low"], hybrid_row["difference"]["high"]) == pytest.approx(
        (0.1705, 0.8090), abs=5e-5)
    assert hybrid_row["significant"] and not control_row["significant"]

    [entry] = selectors.experiment_results()
    assert entry["variants"][0]["impressions"] == 11


@pytest.mark.django_db
def test_experiment_results_without_impressions(experiment):
    [entry] = selectors.experiment_results()
    assert all(row["ctr"] is None and row["difference"] is None for row in entry["variants"])


@pytest.mark.django_db
def test_variant_without_a_marked_control_compares_with_the_first_by_name():
    experiment = Experiment.objects.create(key="two")
    Variant.objects.create(experiment=experiment, name="b")
    Variant.objects.create(experiment=experiment, name="a")
    [entry] = selectors.experiment_results()
    assert entry["control"].name == "a"


@pytest.mark.django_db
def test_record_suggestion_outcomes_and_override_rates():
    first, second = ProductFactory(), ProductFactory()
    services.record_suggestion_outcomes(
        first, {"article_type": "Jeans", "gender": "Men", "season": ""},
        {"article_type": "Track Pants", "gender": "Men", "season": "Summer"}, "cascade@v1")
    services.record_suggestion_outcomes(
        second, {"article_type": "Jeans", "gender": "Men"},
        {"article_type": "Jeans", "gender": "Women"}, "cascade@v1")
    assert SuggestionOutcome.objects.count() == 4  # the empty season suggestion is not an outcome
    rates = {row["field"]: row for row in selectors.suggestion_override_rates()}
    assert rates["article_type"]["total"] == 2 and rates["article_type"]["overridden"] == 1
    assert rates["gender"]["rate"] == pytest.approx(0.5)
    assert "season" not in rates


@pytest.mark.django_db
def test_suggestion_outcomes_survive_a_deleted_product():
    product = ProductFactory()
    services.record_suggestion_outcomes(product, {"gender": "Men"}, {}, "m")
    product.delete()
    outcome = SuggestionOutcome.objects.get()
    assert outcome.product is None and outcome.saved == "" and outcome.overridden


@pytest.mark.django_db(transaction=True)
def test_a_variant_deleted_behind_the_cache_loses_impressions_but_not_the_page(experiment):
    request = request_for(UserFactory())
    services.assign_variant(experiment.key, request)  # caches the config with both variants
    Variant.objects.filter(experiment=experiment, name="hybrid").delete()
    assert services.record_impressions(request, experiment.key, "hybrid", "similar", ["1"]) == []
    assert Impression.objects.count() == 0
    # The stale config was dropped: the remaining variant records again.
    assert services.record_impressions(request, experiment.key, "content", "similar", ["1"])


@pytest.mark.django_db
def test_variants_with_impressions_cannot_be_deleted(experiment):
    request = request_for(UserFactory())
    services.record_impressions(request, experiment.key, "hybrid", "similar", ["1"])
    with pytest.raises(ProtectedError):
        experiment.variants.get(name="hybrid").delete()
    with pytest.raises(ProtectedError):
        experiment.delete()


@pytest.mark.parametrize("point,expected", [(0.0, "a"), (0.2499, "a"), (0.25, "b"), (0.9999999999999999, "b")])
def test_slice_edges(point, expected):
    assert services.choose_variant([("a", 1), ("b", 3)], point) == expected


@pytest.mark.django_db
def test_click_through_by_surface(experiment):
    request = request_for(UserFactory())
    shown = services.record_impressions(request, experiment.key, "content", "similar", ["1", "2", "3", "4"])
    services.record_impressions(request, experiment.key, "hybrid", "also_bought", ["5"])
    services.record_click(shown[0])
    rows = {row["surface"]: row for row in selectors.click_through_by_surface()}
    assert (rows["similar"]["impressions"], rows["similar"]["clicks"], rows["similar"]["ctr"]) == (4, 1, 0.25)
    assert rows["similar"]["label"] == "Similar products"
    assert rows["also_bought"]["clicks"] == 0 and rows["also_bought"]["low"] == 0.0
