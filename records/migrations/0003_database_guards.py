"""Guarantees in the database, whatever path a write takes (service, admin, bare ORM, SQL):

- a signed clinical note never changes; only a key rotation may re-wrap its data key (the
  envelope's "kid" and "wk"); the ciphertext, nonce and every other column stay;
- an addendum never changes (same re-wrap exception);
- audit events are never updated or deleted.

PostgreSQL refuses UPDATE and DELETE; SQLite refuses UPDATE (its test flush deletes rows, and
the ORM paths refuse deletes already).
"""

from django.db import migrations

NOTE_COLUMNS = ("id", "envelope_id", "patient_id", "author_id", "appointment_id", "kind",
                "private", "status", "created_at", "updated_at", "signed_at")
ADDENDUM_COLUMNS = ("id", "envelope_id", "note_id", "author_id", "signed_at")
AUDIT_TABLE = "records_auditevent"

PG_FORWARD = """
CREATE OR REPLACE FUNCTION records_refuse_change() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION '%% on %% refused: %%', TG_OP, TG_TABLE_NAME, TG_ARGV[0]
    USING ERRCODE = 'integrity_constraint_violation';
END; $$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION records_note_signed_guard() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF OLD.status = 'signed' THEN
      RAISE EXCEPTION 'signed clinical note %% cannot be deleted', OLD.id
        USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN OLD;
  END IF;
  IF OLD.status = 'signed' AND (
      ({new_note}, NEW.body->>'v', NEW.body->>'n', NEW.body->>'ct')
      IS DISTINCT FROM
      ({old_note}, OLD.body->>'v', OLD.body->>'n', OLD.body->>'ct')) THEN
    RAISE EXCEPTION 'signed clinical note %% cannot change; add an addendum', OLD.id
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NEW;
END; $$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION records_addendum_guard() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' OR (
      ({new_add}, NEW.body->>'v', NEW.body->>'n', NEW.body->>'ct')
      IS DISTINCT FROM
      ({old_add}, OLD.body->>'v', OLD.body->>'n', OLD.body->>'ct')) THEN
    RAISE EXCEPTION 'addendum %% cannot change', OLD.id
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END; $$ LANGUAGE plpgsql;

CREATE TRIGGER records_note_signed_guard BEFORE UPDATE OR DELETE ON records_clinicalnote
  FOR EACH ROW EXECUTE FUNCTION records_note_signed_guard();
CREATE TRIGGER records_addendum_guard BEFORE UPDATE OR DELETE ON records_noteaddendum
  FOR EACH ROW EXECUTE FUNCTION records_addendum_guard();
CREATE TRIGGER records_auditevent_append_only BEFORE UPDATE OR DELETE ON records_auditevent
  FOR EACH ROW EXECUTE FUNCTION records_refuse_change('audit events are append-only');
""".format(
    new_note=", ".join(f"NEW.{c}" for c in NOTE_COLUMNS),
    old_note=", ".join(f"OLD.{c}" for c in NOTE_COLUMNS),
    new_add=", ".join(f"NEW.{c}" for c in ADDENDUM_COLUMNS),
    old_add=", ".join(f"OLD.{c}" for c in ADDENDUM_COLUMNS),
).replace("%%", "%")

PG_REVERSE = """
DROP TRIGGER IF EXISTS records_note_signed_guard ON records_clinicalnote;
DROP TRIGGER IF EXISTS records_addendum_guard ON records_noteaddendum;
DROP TRIGGER IF EXISTS records_auditevent_append_only ON records_auditevent;
DROP FUNCTION IF EXISTS records_note_signed_guard();
DROP FUNCTION IF EXISTS records_addendum_guard();
DROP FUNCTION IF EXISTS records_refuse_change();
"""


def _changed(columns) -> str:
    parts = [f"NEW.{c} IS NOT OLD.{c}" for c in columns]
    parts += [f"json_extract(NEW.body, '$.{k}') IS NOT json_extract(OLD.body, '$.{k}')"
              for k in ("v", "n", "ct")]
    return " OR ".join(parts)


SQLITE_FORWARD = [
    f"""CREATE TRIGGER records_note_signed_guard BEFORE UPDATE ON records_clinicalnote
    FOR EACH ROW WHEN OLD.status = 'signed' AND ({_changed(NOTE_COLUMNS)})
    BEGIN SELECT RAISE(ABORT, 'signed clinical note cannot change; add an addendum'); END;""",
    f"""CREATE TRIGGER records_addendum_guard BEFORE UPDATE ON records_noteaddendum
    FOR EACH ROW WHEN ({_changed(ADDENDUM_COLUMNS)})
    BEGIN SELECT RAISE(ABORT, 'addendum cannot change'); END;""",
    f"""CREATE TRIGGER records_auditevent_append_only BEFORE UPDATE ON {AUDIT_TABLE}
    FOR EACH ROW BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;""",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS records_note_signed_guard;",
    "DROP TRIGGER IF EXISTS records_addendum_guard;",
    "DROP TRIGGER IF EXISTS records_auditevent_append_only;",
]


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FORWARD, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE_FORWARD:
            schema_editor.execute(statement, params=None)


def reverse(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_REVERSE, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE_REVERSE:
            schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [("records", "0002_models")]

    operations = [migrations.RunPython(forward, reverse)]
