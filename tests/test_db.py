"""insert_hints: page views and impressions stored in one statement whose commit does not
wait for the disk, and that relaxation kept to those rows alone."""
import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from fashionshop.db import insert_hints
from main.models import Interaction
from main.services import record_interaction
from tests.factories import ProductFactory, UserFactory

postgresql_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL setting")


def synchronous_commit():
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_hints_are_stored_with_their_keys_and_every_field():
    product, user = ProductFactory(), UserFactory()
    rows = insert_hints([Interaction(product=product, kind="view", session_key="s1"),
                         Interaction(product=product, kind="view", user=user)])
    assert all(row.pk for row in rows) and len({row.pk for row in rows}) == 2
    stored = Interaction.objects.get(pk=rows[0].pk)
    assert (stored.product_id, stored.kind, stored.session_key, stored.user_id) == \
        (product.pk, "view", "s1", None)
    assert stored.created_at == rows[0].created_at
    assert Interaction.objects.get(pk=rows[1].pk).user_id == user.pk
    assert insert_hints([]) == []


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_on_postgresql_a_hint_is_one_statement_and_the_relaxed_commit_does_not_outlive_it():
    product = ProductFactory()
    with CaptureQueriesContext(connection) as queries:
        record_interaction(product, Interaction.Kind.VIEW, session_key="s1")
    assert len(queries) == 1 and "set_config('synchronous_commit', 'off', true)" in queries[0]["sql"]
    assert synchronous_commit() == "on"
    record_interaction(product, Interaction.Kind.ADD_TO_CART, session_key="s1")   # waits for the disk
    assert Interaction.objects.filter(session_key="s1").count() == 2


@pytest.mark.django_db(transaction=True)
def test_inside_a_callers_transaction_hints_commit_and_roll_back_with_it():
    product = ProductFactory()
    with pytest.raises(RuntimeError), transaction.atomic():
        record_interaction(product, Interaction.Kind.VIEW, session_key="s2")
        if connection.vendor == "postgresql":
            assert synchronous_commit() == "on"      # the caller's commit stays durable
        raise RuntimeError("boom")
    assert not Interaction.objects.filter(session_key="s2").exists()


@pytest.mark.django_db(transaction=True)
def test_a_failed_insert_stores_none_of_its_rows_and_the_next_one_works():
    product = ProductFactory()
    broken = [Interaction(product=product, kind="view", session_key="s3"),
              Interaction(product_id=10**9, kind="view", session_key="s3")]   # no such product
    with pytest.raises(IntegrityError):
        insert_hints(broken)
    assert not Interaction.objects.filter(session_key="s3").exists()
    record_interaction(product, Interaction.Kind.VIEW, session_key="s4")
    assert Interaction.objects.filter(session_key="s4").count() == 1
