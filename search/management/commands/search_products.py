"""Print the skus page 1 of /search/?q=QUERY shows, in order, as a JSON list.

    python manage.py search_products "jeens for men" [--k 24]
"""
import json

from django.core.management.base import BaseCommand, CommandError

from main.forms import MAX_QUERY_LENGTH
from main.selectors import ProductFilter
from search import selectors
from search.understanding import understand


class Command(BaseCommand):
    help = "Search like the shop's search page and print page 1's skus as a JSON list."

    def add_arguments(self, parser):
        parser.add_argument("query")
        parser.add_argument("--k", type=int, default=24, help="results per page (default 24)")

    def handle(self, *args, query, k, **options):
        if not 1 <= k <= 1000:
            raise CommandError("--k must be between 1 and 1000")
        query = query[:MAX_QUERY_LENGTH]
        if not query.strip():
            raise CommandError("give a query")
        results = selectors.search(understand(query), ProductFilter(text=query), per_page=k)
        self.stdout.write(json.dumps(selectors.page_skus(results)))
