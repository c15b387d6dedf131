"""PostgreSQL only: no two active appointments of one clinician (or one patient) overlap.

SQLite has no exclusion constraints; there `appointment_book` runs in an IMMEDIATE transaction
and checks for overlaps inside it."""

from django.contrib.postgres.operations import BtreeGistExtension
from django.db import migrations

ACTIVE = "status <> 'cancelled'"

FORWARD = [
    f"""ALTER TABLE scheduling_appointment ADD CONSTRAINT appointment_no_clinician_overlap
        EXCLUDE USING gist (clinician_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&)
        WHERE ({ACTIVE})""",
    f"""ALTER TABLE scheduling_appointment ADD CONSTRAINT appointment_no_patient_overlap
        EXCLUDE USING gist (patient_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&)
        WHERE ({ACTIVE})""",
]
BACKWARD = [
    "ALTER TABLE scheduling_appointment DROP CONSTRAINT appointment_no_clinician_overlap",
    "ALTER TABLE scheduling_appointment DROP CONSTRAINT appointment_no_patient_overlap",
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in FORWARD:
            schema_editor.execute(statement)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in BACKWARD:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0001_initial")]

    operations = [
        BtreeGistExtension(),
        migrations.RunPython(forward, backward),
    ]
