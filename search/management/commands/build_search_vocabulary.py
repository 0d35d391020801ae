from django.core.management.base import BaseCommand
from tqdm import tqdm

from search import services


class Command(BaseCommand):
    help = "Rebuild the vocabulary search corrects typos against (safe to re-run)."

    def handle(self, *args, **options):
        progress = (lambda names: tqdm(names, desc="names", unit=" names")) if options["verbosity"] else None
        words = services.rebuild_vocabulary(progress=progress)
        self.stdout.write(f"{words} words")
