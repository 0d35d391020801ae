"""A GIN index for PostgreSQL full-text search of products.

It is created here rather than declared in Product.Meta.indexes because SQLite
has no GIN indexes and rebuilds every declared index whenever it remakes the
table. Migration 0005 replaces it with a stored, trigger-maintained column.
"""
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import migrations

INDEX_NAME = "product_search_gin"


def _index():
    vector = (
        SearchVector("name", weight="A", config="english")
        + SearchVector("article_type", "sub_category", weight="B", config="english")
        + SearchVector(
            "base_colour", "master_category", "gender", "usage", weight="C", config="english"
        )
    )
    return GinIndex(vector, name=INDEX_NAME)


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.add_index(apps.get_model("main", "Product"), _index())


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.remove_index(apps.get_model("main", "Product"), _index())


class Migration(migrations.Migration):

    dependencies = [
        ("main", "0002_catalog_import"),
    ]

    operations = [
        migrations.RunPython(create_index, drop_index, elidable=False),
    ]
