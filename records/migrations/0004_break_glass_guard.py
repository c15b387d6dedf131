"""A break-glass grant is evidence: its admin, patient, reason and start never change, it is
never deleted (PostgreSQL), and its end may only move earlier (revoking access)."""

from django.db import migrations

PG_FORWARD = """
CREATE OR REPLACE FUNCTION records_break_glass_guard() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'break-glass grant %% cannot be deleted', OLD.id
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  IF (NEW.id, NEW.admin_id, NEW.patient_id, NEW.reason, NEW.granted_at)
     IS DISTINCT FROM (OLD.id, OLD.admin_id, OLD.patient_id, OLD.reason, OLD.granted_at)
     OR NEW.expires_at > OLD.expires_at THEN
    RAISE EXCEPTION 'break-glass grant %% cannot change (its end may only move earlier)', OLD.id
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NEW;
END; $$ LANGUAGE plpgsql;
CREATE TRIGGER records_break_glass_guard BEFORE UPDATE OR DELETE ON records_breakglassgrant
  FOR EACH ROW EXECUTE FUNCTION records_break_glass_guard();
""".replace("%%", "%")

PG_REVERSE = """
DROP TRIGGER IF EXISTS records_break_glass_guard ON records_breakglassgrant;
DROP FUNCTION IF EXISTS records_break_glass_guard();
"""

SQLITE_FORWARD = """
CREATE TRIGGER records_break_glass_guard BEFORE UPDATE ON records_breakglassgrant
FOR EACH ROW WHEN NEW.id IS NOT OLD.id OR NEW.admin_id IS NOT OLD.admin_id
  OR NEW.patient_id IS NOT OLD.patient_id OR NEW.reason IS NOT OLD.reason
  OR NEW.granted_at IS NOT OLD.granted_at OR NEW.expires_at > OLD.expires_at
BEGIN SELECT RAISE(ABORT, 'break-glass grant cannot change (its end may only move earlier)'); END;
"""
SQLITE_REVERSE = "DROP TRIGGER IF EXISTS records_break_glass_guard;"


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FORWARD, params=None)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_FORWARD, params=None)


def reverse(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_REVERSE, params=None)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_REVERSE, params=None)


class Migration(migrations.Migration):
    dependencies = [("records", "0003_database_guards")]

    operations = [migrations.RunPython(forward, reverse)]
