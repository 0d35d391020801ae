"""Database helpers the apps share."""
from django.db import connections, transaction


def insert_hints(objs, using="default"):
    """Insert new rows that are hints, not records of money or stock (page views,
    impressions), so that their commit does not wait for the disk. Returns `objs`.

    On PostgreSQL, outside a transaction, it is one statement, hence its own
    transaction, which turns synchronous_commit off for itself alone
    (set_config(..., is_local)): one round trip where BEGIN, SET LOCAL, INSERT and
    COMMIT took four. A crash may lose the last fraction of a second of hints,
    never corrupt them; the wait for the disk was most of a product page's time.
    Inside a caller's transaction, or on another database, a plain insert in a
    savepoint: the caller's commit decides, and a failed insert leaves the
    caller's transaction usable.
    """
    if not objs:
        return objs
    connection = connections[using]
    model = type(objs[0])
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        with transaction.atomic(using=using):
            return model.objects.using(using).bulk_create(objs)
    meta = model._meta
    fields = [field for field in meta.concrete_fields if field is not meta.pk]
    quote = connection.ops.quote_name
    # Typed placeholders: the values sit in a sub-select, where PostgreSQL would not
    # take their types from the target columns.
    row = "(" + ", ".join(f"%s::{field.db_type(connection)}" for field in fields) + ")"
    sql = (f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
           f"SELECT * FROM (VALUES {', '.join([row] * len(objs))}) AS hint "
           f"WHERE set_config('synchronous_commit', 'off', true) IS NOT NULL "
           f"RETURNING {quote(meta.pk.column)}")
    params = [field.get_db_prep_save(field.pre_save(obj, True), connection)
              for obj in objs for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        keys = [key for (key,) in cursor.fetchall()]
    for obj, key in zip(objs, keys):
        obj.pk = key
        obj._state.adding, obj._state.db = False, using
    return objs


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
