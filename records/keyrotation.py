"""Re-wrapping data keys under the primary master key, and verifying every encrypted value.

Rotation never touches a ciphertext: it unwraps each value's data key with the key that wrapped
it and wraps it again with the primary key. Rows already under the primary key are skipped in
the query, so a run stopped half-way resumes where it stopped when started again.
"""

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from allauth.mfa.models import Authenticator
from django.apps import apps
from django.db import models, transaction
from django.db.models import Q

from .encryption import (
    DecryptionError,
    EncryptedModel,
    decrypt_bytes,
    envelope_fields,
    envelope_from_string,
    envelope_to_string,
    keyring,
    rewrap,
)
from .mfa import MFA_CONTEXT

MFA_KEYS = ("secret", "seed")


def encrypted_models() -> list[tuple[type[models.Model], list[str]]]:
    found = []
    for model in apps.get_models():
        if issubclass(model, EncryptedModel):
            names = envelope_fields(model)
            if names:
                found.append((model, names))
    return sorted(found, key=lambda pair: pair[0]._meta.label)


def _mfa_values(data: dict) -> Iterator[tuple[str, int | None, str]]:
    for name in MFA_KEYS:
        if isinstance(data.get(name), str):
            yield name, None, data[name]
    for index, code in enumerate(data.get("migrated_codes") or []):
        yield "migrated_codes", index, code


@dataclass
class RotationProgress:
    label: str
    total: int
    done: int = 0
    rewrapped: int = 0


def rotate_model(model: type[models.Model], names: list[str], *, batch_size: int,
                 report: Callable[[RotationProgress], None]) -> RotationProgress:
    primary = keyring().primary_id
    stale = Q()
    for name in names:
        stale |= Q(**{f"{name}__isnull": False}) & ~Q(**{f"{name}__kid": primary})
    pending = model._default_manager.filter(stale)
    progress = RotationProgress(label=model._meta.label, total=pending.count())
    last_pk = None
    while True:
        with transaction.atomic():
            batch_qs = pending.order_by("pk")
            if last_pk is not None:
                batch_qs = batch_qs.filter(pk__gt=last_pk)
            rows = list(batch_qs.select_for_update()[:batch_size])
            if not rows:
                break
            for row in rows:
                changes = {}
                for name in names:
                    envelope = getattr(row, name)
                    if envelope is not None and envelope.get("kid") != primary:
                        changes[name] = rewrap(envelope, context=row.envelope_context(name))
                if changes:
                    # A bare UPDATE: only the envelopes' kid and wk change (the guards allow it).
                    model._default_manager.filter(pk=row.pk).update(**changes)
                    progress.rewrapped += 1
                progress.done += 1
            last_pk = rows[-1].pk
        report(progress)
    return progress


def rotate_mfa(*, report: Callable[[RotationProgress], None]) -> RotationProgress:
    primary = keyring().primary_id
    authenticators = Authenticator.objects.order_by("pk")
    progress = RotationProgress(label="mfa.Authenticator", total=authenticators.count())
    with transaction.atomic():
        for authenticator in authenticators.select_for_update():
            data = dict(authenticator.data)
            changed = False
            for name, index, value in list(_mfa_values(data)):
                envelope = envelope_from_string(value)
                if envelope.get("kid") == primary:
                    continue
                new_value = envelope_to_string(rewrap(envelope, context=MFA_CONTEXT))
                if index is None:
                    data[name] = new_value
                else:
                    data[name] = list(data[name])
                    data[name][index] = new_value
                changed = True
            if changed:
                Authenticator.objects.filter(pk=authenticator.pk).update(data=data)
                progress.rewrapped += 1
            progress.done += 1
    report(progress)
    return progress


@dataclass
class VerifyResult:
    label: str
    checked: int = 0
    by_key: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)


def verify_model(model: type[models.Model], names: list[str], *, batch_size: int = 500) -> VerifyResult:
    result = VerifyResult(label=model._meta.label)
    queryset = model._default_manager.order_by("pk").only("pk", "envelope_id", *names)
    for row in queryset.iterator(chunk_size=batch_size):
        for name in names:
            envelope = getattr(row, name)
            if envelope is None:
                continue
            result.checked += 1
            try:
                decrypt_bytes(envelope, context=row.envelope_context(name))
            except DecryptionError as exc:
                result.failures.append(f"{model._meta.label} pk={row.pk} {name}: {exc}")
            else:
                result.by_key[envelope.get("kid")] += 1
    return result


def verify_mfa() -> VerifyResult:
    result = VerifyResult(label="mfa.Authenticator")
    for authenticator in Authenticator.objects.order_by("pk").iterator():
        for name, index, value in _mfa_values(authenticator.data):
            result.checked += 1
            where = name if index is None else f"{name}[{index}]"
            try:
                envelope = envelope_from_string(value)
                decrypt_bytes(envelope, context=MFA_CONTEXT)
            except DecryptionError as exc:
                result.failures.append(f"mfa.Authenticator pk={authenticator.pk} {where}: {exc}")
            else:
                result.by_key[envelope.get("kid")] += 1
    return result
