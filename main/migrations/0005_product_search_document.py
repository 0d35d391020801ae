"""A stored full-text document per product for PostgreSQL search, kept current by a trigger.

The column is PostgreSQL-only and not a model field: other databases have no
tsvector, and nothing in Django writes it. The trigger rewrites it whenever a
searchable column is written (bulk imports included); the GIN index makes a
search touch only the matching rows. It replaces 0003's expression index.
"""
from django.db import migrations

SEARCHABLE = ("name", "article_type", "sub_category", "base_colour", "master_category", "gender", "usage")

FORWARD = f"""
ALTER TABLE main_product ADD COLUMN search_document tsvector;
CREATE FUNCTION main_product_search_document() RETURNS trigger AS $$
BEGIN
    NEW.search_document :=
        setweight(to_tsvector('english', coalesce(NEW.name, '')), 'A')
        || setweight(to_tsvector('english', concat_ws(' ', NEW.article_type, NEW.sub_category)), 'B')
        || setweight(to_tsvector('english', concat_ws(' ', NEW.base_colour, NEW.master_category,
                                                       NEW.gender, NEW.usage)), 'C');
    RETURN NEW;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER main_product_search_document
    BEFORE INSERT OR UPDATE OF {", ".join(SEARCHABLE)} ON main_product
    FOR EACH ROW EXECUTE FUNCTION main_product_search_document();
UPDATE main_product SET name = name;
CREATE INDEX product_search_document_gin ON main_product USING gin (search_document);
DROP INDEX IF EXISTS product_search_gin;
"""

BACKWARD = """
DROP TRIGGER IF EXISTS main_product_search_document ON main_product;
DROP FUNCTION IF EXISTS main_product_search_document();
ALTER TABLE main_product DROP COLUMN IF EXISTS search_document;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):

    dependencies = [
        ("main", "0004_product_taxonomy_stock_index"),
    ]

    operations = [
        migrations.RunPython(forward, backward, elidable=False),
    ]
