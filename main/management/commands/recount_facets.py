"""Recount every maintained facet count (main.models.FacetCount) from the products.

    python manage.py recount_facets

main.services keeps the counts current and every catalog import recounts them;
run this after changing products any other way (SQL, a restored dump). Safe to re-run.
"""
from django.core.management.base import BaseCommand

from main.models import FacetCount
from main.services import recount_facets


class Command(BaseCommand):
    help = "Recount the maintained facet counts of the whole catalog."

    def handle(self, *args, **options):
        recount_facets()
        self.stdout.write(f"{FacetCount.objects.count()} combinations counted")
