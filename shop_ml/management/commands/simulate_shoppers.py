"""Write a simulated shopping history (clearly labelled) so recommenders have data.

Simulated interactions carry a session key starting with "sim-" and belong to
inactive users named "sim-shopper-N" without a usable password. Re-running
replaces the previous simulated history; real interactions are never touched.
"""
from django.core.management.base import BaseCommand, CommandError

from main.models import Interaction
from shop_ml.management.recommendations import SESSION_PREFIX, clear_simulated, simulate_shoppers


class Command(BaseCommand):
    help = "Replace the simulated shopper history (sim-* sessions) with a reproducible new one."

    def add_arguments(self, parser):
        parser.add_argument("--shoppers", type=int, default=500)
        parser.add_argument("--days", type=int, default=60)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--clear", action="store_true",
                            help="only delete the simulated history")
        parser.add_argument("--if-empty", action="store_true",
                            help="do nothing when a simulated history exists (make run uses it)")

    def handle(self, *args, shoppers, days, seed, clear, if_empty, **options):
        if if_empty and Interaction.objects.filter(session_key__startswith=SESSION_PREFIX).exists():
            self.stdout.write("a simulated history exists already; nothing to do")
            return
        if clear:
            deleted = clear_simulated()
            self.stdout.write(f"deleted {deleted} simulated interactions")
            return
        if shoppers < 1 or days < 1:
            raise CommandError("--shoppers and --days must be at least 1")
        simulate_shoppers(shoppers, days, seed, stdout=self.stdout)
