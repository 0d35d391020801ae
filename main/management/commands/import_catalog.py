import sys
import time

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from main.importing import import_catalog
from search.services import rebuild_vocabulary


class Command(BaseCommand):
    help = "Import products and photos from a Fashion Product Images styles.csv (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--styles", required=True, help="path to styles.csv")
        parser.add_argument("--images", nargs="+", default=[],
                            help="folders of <id>.jpg photos, best first: each product gets "
                                 "the first one found")
        parser.add_argument("--limit", type=int, help="import at most N products")
        parser.add_argument("--force", action="store_true",
                            help="import even if this exact file was imported before")

    def handle(self, *args, styles, images, limit, force, **options):
        if limit is not None and limit < 1:
            raise CommandError("--limit must be a positive number")
        started = time.monotonic()
        show_bar = options["verbosity"] > 0

        def progress(rows):
            with open(styles, "rb") as handle:
                total = max(sum(1 for _ in handle) - 1, 0)
            return tqdm(rows, total=total, desc="import", unit=" rows", file=sys.stderr,
                        disable=not show_bar)

        try:
            report = import_catalog(styles, images, limit=limit, force=force, progress=progress)
        except (OSError, ValueError) as exc:
            raise CommandError(str(exc)) from exc

        if report.skipped_unchanged_file:
            self.stdout.write("Catalog unchanged since the last import; nothing to do (--force to re-import).")
            return
        for error in report.errors:
            self.stderr.write(f"{styles}: {error}")
        if report.without_photo:
            shown = ", ".join(report.without_photo[:20])
            more = f" and {len(report.without_photo) - 20} more" if len(report.without_photo) > 20 else ""
            self.stderr.write(f"No photo in {', '.join(images)} for {len(report.without_photo)} "
                              f"products (ids {shown}{more}); they keep the placeholder.")
        # Typos are corrected against the words of the catalog just imported.
        words = rebuild_vocabulary()
        self.stdout.write(self.style.SUCCESS(
            f"Imported in {time.monotonic() - started:.1f}s: {report.created} created, "
            f"{report.updated} updated, {report.unchanged} unchanged, "
            f"{report.photos_attached} photos attached, {report.rejected} rows reported; "
            f"search knows {words} words."
        ))
