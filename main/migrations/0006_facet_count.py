import django.db.models.deletion
from django.db import migrations, models

from main.facets import count_combinations


def count_every_combination(apps, schema_editor):
    Product = apps.get_model("main", "Product")
    FacetCount = apps.get_model("main", "FacetCount")
    FacetCount.objects.bulk_create(
        (FacetCount(**row) for row in count_combinations(Product.objects.filter(is_active=True))),
        batch_size=2000,
    )


class Migration(migrations.Migration):

    dependencies = [
        ("main", "0005_product_search_document"),
        ("seller_accounts", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="FacetCount",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("gender", models.CharField(max_length=20)),
                ("sub_category", models.CharField(max_length=50)),
                ("article_type", models.CharField(max_length=50)),
                ("base_colour", models.CharField(blank=True, max_length=30)),
                ("season", models.CharField(blank=True, max_length=20)),
                ("usage", models.CharField(blank=True, max_length=30)),
                ("price_class", models.PositiveSmallIntegerField()),
                ("products", models.PositiveIntegerField()),
                ("newest_photographed", models.BigIntegerField(blank=True, null=True)),
                ("seller", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+",
                                             to="seller_accounts.seller")),
            ],
            options={
                "indexes": [models.Index(fields=["gender", "sub_category", "article_type"],
                                         name="main_facetc_gender_25eeb7_idx")],
                "constraints": [models.UniqueConstraint(
                    fields=("seller", "gender", "sub_category", "article_type", "base_colour", "season",
                            "usage", "price_class"),
                    name="facet_count_one_row_per_combination")],
            },
        ),
        migrations.RunPython(count_every_combination, migrations.RunPython.noop),
    ]
