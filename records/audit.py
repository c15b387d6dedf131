"""The audit chain's hash and its verification (the writes are `services.audit_log`)."""

import hashlib
import ipaddress
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from .models import AuditEvent

GENESIS_HASH = "0" * 64


def _normal_ip(ip: str | None) -> str | None:
    if not ip:
        return None
    return ipaddress.ip_address(ip).compressed


def _utc_iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def audit_hash(*, seq: int, occurred_at: datetime, actor_id: int | None, action: str,
               object_type: str, object_id: str, patient_id: int | None, ip: str | None,
               break_glass: bool, prev_hash: str) -> str:
    content = json.dumps(
        [seq, _utc_iso(occurred_at), actor_id, action, object_type, str(object_id), patient_id,
         _normal_ip(ip), bool(break_glass), prev_hash],
        separators=(",", ":"), ensure_ascii=True,
    )
    return hashlib.sha256(content.encode("ascii")).hexdigest()


def event_hash(event: AuditEvent) -> str:
    return audit_hash(
        seq=event.seq, occurred_at=event.occurred_at, actor_id=event.actor_id,
        action=event.action, object_type=event.object_type, object_id=event.object_id,
        patient_id=event.patient_id, ip=event.ip, break_glass=event.break_glass,
        prev_hash=event.prev_hash,
    )


@dataclass(frozen=True)
class ChainReport:
    checked: int
    broken_at: AuditEvent | None = None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_at is None and not self.problem


def audit_chain_verify(*, batch_size: int = 2000) -> ChainReport:
    """Walk the chain in `seq` order; report the first event whose link does not hold."""
    expected_prev = GENESIS_HASH
    expected_seq = 1
    checked = 0
    last_seq = 0
    while True:
        batch = list(AuditEvent.objects.filter(seq__gt=last_seq).order_by("seq")[:batch_size])
        if not batch:
            return ChainReport(checked=checked)
        for event in batch:
            if event.seq != expected_seq:
                return ChainReport(checked, event,
                                   f"sequence jumps from {expected_seq - 1} to {event.seq}: "
                                   "events are missing before it")
            if event.prev_hash != expected_prev:
                return ChainReport(checked, event,
                                   "its previous-hash does not match the event before it "
                                   "(an event was removed or the order changed)")
            if event_hash(event) != event.hash:
                return ChainReport(checked, event, "its content does not match its hash (edited)")
            expected_prev = event.hash
            expected_seq += 1
            checked += 1
            last_seq = event.seq
