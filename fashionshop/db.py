"""Database helpers the apps share."""
from contextlib import contextmanager

from django.db import connections, transaction


@contextmanager
def commit_without_waiting_for_disk(using="default"):
    """A transaction whose commit does not wait for its log to reach the disk.

    For rows that are hints, not records of money or stock: page views and
    impressions. On PostgreSQL (synchronous_commit off for this transaction alone)
    a crash may lose the last fraction of a second of them, never corrupt them;
    the wait for the disk was most of a product page's time. Inside a caller's
    transaction it changes nothing: that commit is the caller's.
    """
    connection = connections[using]
    outermost = not connection.in_atomic_block
    with transaction.atomic(using=using):
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        yield


def refresh_planner_statistics(*models, using="default"):
    """ANALYZE the models' tables on PostgreSQL, after a bulk load changed them.

    Without it the planner guesses from an empty table until autovacuum runs (never,
    where it is off): with the catalog imported it guessed 9 facet rows for 9,518 and
    sorted where it should hash, doubling a search's time.
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    tables = ", ".join(connection.ops.quote_name(model._meta.db_table) for model in models)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {tables}")
