"""Demo data for `make run`: regions, staff with MFA, licenses, patients, and each app's part.
Idempotent: running it again changes nothing already there."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts import demo as accounts_demo
from accounts.totp import current_totp_code

DEMO_MODULES = ("scheduling.demo", "records.demo", "sessions.demo", "crisis.demo")


class Command(BaseCommand):
    help = "Create (or top up) the demo clinic and print every login."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Seed even with DJANGO_DEBUG off.")

    def handle(self, *args, force: bool = False, **options):
        if not settings.DEBUG and not force:
            raise CommandError("seed_demo creates known passwords: run it with DJANGO_DEBUG=true.")
        people = accounts_demo.seed()
        import importlib

        for module_name in DEMO_MODULES:
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError as exc:
                if exc.name != module_name:
                    raise
                continue
            module.seed(people=people, stdout=self.stdout)

        out = self.stdout.write
        out(self.style.SUCCESS("\nDemo clinic ready at http://127.0.0.1:8000"))
        out(f"Every demo password: {accounts_demo.DEMO_PASSWORD}\n")
        out("Staff (sign in, then enter the 6-digit code from an authenticator app with this secret,")
        out("or run: .venv/bin/python manage.py demo_totp EMAIL):")
        for user in [people.admin, *people.clinicians]:
            secret = people.totp_secrets[user.email]
            out(f"  {user.get_role_display():22} {user.email:28} TOTP secret {secret}"
                f"  (code now: {current_totp_code(secret)})")
        out("Patients:")
        for user in people.patients:
            region = user.patient_profile.home_region.code
            out(f"  {'Patient':22} {user.email:28} home region {region}")
