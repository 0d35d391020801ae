"""commit_without_waiting_for_disk: relaxed durability for hints, and only for them."""
import pytest
from django.db import connection, transaction

from fashionshop.db import commit_without_waiting_for_disk
from main.models import Interaction
from main.services import record_interaction
from tests.factories import ProductFactory

postgresql_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL setting")


def synchronous_commit():
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return cursor.fetchone()[0]


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_the_relaxed_commit_is_for_that_transaction_alone():
    with commit_without_waiting_for_disk():
        assert synchronous_commit() == "off"
    assert synchronous_commit() == "on"


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_inside_a_callers_transaction_the_callers_commit_stays_durable():
    with transaction.atomic():
        with commit_without_waiting_for_disk():
            pass
        assert synchronous_commit() == "on"


@pytest.mark.django_db(transaction=True)
def test_a_view_is_stored_and_a_failure_inside_rolls_back():
    product = ProductFactory()
    record_interaction(product, Interaction.Kind.VIEW, session_key="s1")
    assert Interaction.objects.filter(session_key="s1", kind="view").count() == 1
    with pytest.raises(RuntimeError), commit_without_waiting_for_disk():
        Interaction.objects.create(product=product, kind="view", session_key="s2")
        raise RuntimeError("boom")
    assert not Interaction.objects.filter(session_key="s2").exists()
