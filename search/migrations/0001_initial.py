"""The search vocabulary, and pg_trgm with a trigram index on it for typo correction
on PostgreSQL (other databases count trigrams in Python, search/spelling.py)."""
from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations, models


def create_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX search_term_word_trgm ON search_searchterm USING gin (word gin_trgm_ops)")


def drop_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS search_term_word_trgm")


class Migration(migrations.Migration):

    initial = True

    dependencies = []

    operations = [
        TrigramExtension(),
        migrations.CreateModel(
            name="SearchTerm",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("word", models.CharField(max_length=40, unique=True)),
                ("frequency", models.PositiveIntegerField(default=1, help_text="Active products naming it.")),
            ],
            options={"ordering": ["word"]},
        ),
        migrations.RunPython(create_trigram_index, drop_trigram_index, elidable=False),
    ]
