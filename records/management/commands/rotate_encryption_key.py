from django.core.management.base import BaseCommand

from records.encryption import keyring
from records.keyrotation import RotationProgress, encrypted_models, rotate_mfa, rotate_model

BAR_WIDTH = 30


class Command(BaseCommand):
    help = ("Re-wrap every data key under the primary (first) key of TELEPSYCH_ENCRYPTION_KEYS. "
            "Batched and resumable: rows already under the primary key are skipped, so after an "
            "interruption simply run it again. Keep the old key in the keyring until "
            "verify_encryption reports every value under the new one.")

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)

    def _report(self, progress: RotationProgress) -> None:
        share = progress.done / progress.total if progress.total else 1.0
        filled = int(BAR_WIDTH * share)
        self.stdout.write(
            f"  [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {share:6.1%} {progress.label}: "
            f"{progress.done}/{progress.total} rows, {progress.rewrapped} re-wrapped"
        )

    def handle(self, *args, batch_size: int, **options):
        primary = keyring().primary_id
        self.stdout.write(f"Re-wrapping data keys under primary key {primary!r}")
        total = 0
        for model, names in encrypted_models():
            self.stdout.write(f"{model._meta.label} ({', '.join(names)})")
            progress = rotate_model(model, names, batch_size=batch_size, report=self._report)
            if progress.total == 0:
                self._report(progress)
            total += progress.rewrapped
        self.stdout.write("mfa.Authenticator (secret, seed)")
        total += rotate_mfa(report=self._report).rewrapped
        self.stdout.write(self.style.SUCCESS(f"Done: {total} rows re-wrapped under {primary!r}."))
