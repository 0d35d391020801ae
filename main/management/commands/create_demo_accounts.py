from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from main.importing import DEMO_STORES, ensure_demo_stores

DEMO_PASSWORD = "demo-pass-2026"


class Command(BaseCommand):
    help = "Create (or reset) the demo admin, buyer and seller accounts and print their credentials."

    def add_arguments(self, parser):
        parser.add_argument("--allow-production", action="store_true",
                            help="allow demo accounts with a known password in production mode")

    def handle(self, *args, allow_production, **options):
        if settings.PRODUCTION and not allow_production:
            raise CommandError("Refusing to create accounts with a published password in production.")
        users = get_user_model()
        ensure_demo_stores()
        accounts = [("admin", "staff: Django admin and dashboards", True),
                    ("buyer", "shopper", False)]
        accounts += [(f"seller-{slug}", f"seller: {name}", False) for slug, (name, _) in DEMO_STORES.items()]
        self.stdout.write("Demo accounts (password for all: %s)" % DEMO_PASSWORD)
        for username, role, staff in accounts:
            user, _ = users.objects.get_or_create(username=username, defaults={"email": f"{username}@example.com"})
            user.is_staff = user.is_superuser = staff
            if not user.check_password(DEMO_PASSWORD):
                user.set_password(DEMO_PASSWORD)
            user.save()
            self.stdout.write(f"  {username:<30} {role}")
