"""Encrypt the TOTP secrets and recovery-code seeds allauth stored in plaintext before
records.mfa.MfaAdapter existed (demo and development databases)."""

from django.db import migrations

from records.encryption import STRING_PREFIX


def _encrypt_existing(apps, schema_editor):
    from records.mfa import mfa_secret_encrypt

    Authenticator = apps.get_model("mfa", "Authenticator")
    for authenticator in Authenticator.objects.all():
        data = dict(authenticator.data)
        changed = False
        for name in ("secret", "seed"):
            value = data.get(name)
            if isinstance(value, str) and not value.startswith(STRING_PREFIX):
                data[name] = mfa_secret_encrypt(value)
                changed = True
        codes = data.get("migrated_codes")
        if isinstance(codes, list):
            new_codes = [c if str(c).startswith(STRING_PREFIX) else mfa_secret_encrypt(c) for c in codes]
            changed = changed or new_codes != codes
            data["migrated_codes"] = new_codes
        if changed:
            Authenticator.objects.filter(pk=authenticator.pk).update(data=data)


class Migration(migrations.Migration):
    dependencies = [("mfa", "0003_authenticator_type_uniq")]

    operations = [migrations.RunPython(_encrypt_existing, migrations.RunPython.noop)]
