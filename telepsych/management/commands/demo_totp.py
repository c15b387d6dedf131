from allauth.mfa.models import Authenticator
from allauth.mfa.utils import decrypt
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.totp import current_totp_code


class Command(BaseCommand):
    help = "Print the current TOTP code of a demo staff account (DJANGO_DEBUG only)."

    def add_arguments(self, parser):
        parser.add_argument("email")

    def handle(self, *args, email: str, **options):
        if not settings.DEBUG:
            raise CommandError("demo_totp is for the local demo only (DJANGO_DEBUG=true).")
        authenticator = Authenticator.objects.filter(
            user__email__iexact=email, type=Authenticator.Type.TOTP
        ).first()
        if authenticator is None:
            raise CommandError(f"{email} has no authenticator.")
        self.stdout.write(current_totp_code(decrypt(authenticator.data["secret"])))
