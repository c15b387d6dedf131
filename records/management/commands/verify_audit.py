from django.core.management.base import BaseCommand, CommandError

from records.audit import audit_chain_verify


class Command(BaseCommand):
    help = "Walk the audit hash chain and name the first broken link."

    def handle(self, *args, **options):
        report = audit_chain_verify()
        if not report.ok:
            event = report.broken_at
            raise CommandError(
                f"Audit chain broken at event id={event.pk} seq={event.seq} "
                f"({event.action} {event.object_type} {event.object_id}, {event.occurred_at:%Y-%m-%d %H:%M:%S} UTC): "
                f"{report.problem}. {report.checked} events before it verified."
            )
        self.stdout.write(self.style.SUCCESS(f"Audit chain intact: {report.checked} events verified."))
