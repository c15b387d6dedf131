from django.core.management.base import BaseCommand, CommandError

from records.encryption import keyring
from records.keyrotation import encrypted_models, verify_mfa, verify_model

SHOW_FAILURES = 20


class Command(BaseCommand):
    help = "Decrypt every encrypted value; report counts per master key and every failure."

    def handle(self, *args, **options):
        primary = keyring().primary_id
        results = [verify_model(model, names) for model, names in encrypted_models()]
        results.append(verify_mfa())
        failures = []
        not_primary = 0
        for result in results:
            keys = ", ".join(f"{kid}: {n}" for kid, n in sorted(result.by_key.items())) or "none"
            self.stdout.write(f"{result.label}: {result.checked} values, {len(result.failures)} "
                              f"failed; by key: {keys}")
            failures.extend(result.failures)
            not_primary += sum(n for kid, n in result.by_key.items() if kid != primary)
        checked = sum(r.checked for r in results)
        if not_primary:
            self.stdout.write(self.style.WARNING(
                f"{not_primary} values are still wrapped by an older key than {primary!r}: "
                "run rotate_encryption_key before removing old keys."))
        if failures:
            for line in failures[:SHOW_FAILURES]:
                self.stderr.write(line)
            raise CommandError(f"{len(failures)} of {checked} encrypted values failed to decrypt.")
        self.stdout.write(self.style.SUCCESS(f"All {checked} encrypted values decrypt."))
