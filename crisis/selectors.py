"""Crisis reads: resources for a region, events with their access checks, the admin report."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median

from django.db.models import Exists, OuterRef, QuerySet
from django.http import Http404

from accounts.models import Region, User
from accounts.selectors import patient_profile_for
from scheduling.selectors import clinician_treats_patient

from .models import CrisisEvent, CrisisResource, Notification


def region_now_for(*, patient: User) -> Region | None:
    """Where the patient is right now: the location confirmed for the current call, else home."""
    profile = patient_profile_for(user=patient)
    if profile is None:
        return None
    return profile.current_region or profile.home_region


def region_for_help(*, user: User, region_code: str | None) -> Region | None:
    """The region whose help to show: one chosen on the page, else where the patient is now
    (confirmed at the start of a call), else their home region."""
    if region_code:
        return Region.objects.filter(code=region_code).first()
    if user.is_authenticated and user.is_patient:
        return region_now_for(patient=user)
    return None


def resources_for_region(*, region: Region | None) -> list[CrisisResource]:
    """Verified resources only: an unchecked number can do harm. Emergency numbers first."""
    if region is None:
        return []
    # The region's emergency number is already the big call button above the list.
    return list(CrisisResource.objects.filter(region=region, verified=True)
                .exclude(kind=CrisisResource.Kind.EMERGENCY, phone=region.emergency_number)
                .order_by("position", "pk"))


def crisis_event_open_for_patient(*, patient: User) -> CrisisEvent | None:
    """The patient's own unacknowledged event, if any (for the crisis panel on every page)."""
    if not (patient.is_authenticated and patient.is_patient):
        return None
    return CrisisEvent.objects.filter(
        patient=patient, status__in=CrisisEvent.UNACKNOWLEDGED
    ).first()


def _alerted(user: User):
    return Notification.objects.filter(event=OuterRef("pk"), recipient=user)


def crisis_event_get_for_staff(*, user: User, event_id: int) -> CrisisEvent:
    """The event if `user` is a clinic admin, treats the patient, or was alerted about it;
    404 for anyone else (patients included: this page is for their care team)."""
    if not (user.is_authenticated and user.is_active and user.is_staff_role):
        raise Http404
    event = (
        CrisisEvent.objects.select_related(
            "patient", "patient__patient_profile", "region", "rule", "acknowledged_by"
        )
        .filter(pk=event_id)
        .first()
    )
    if event is None:
        raise Http404
    if user.is_clinic_admin:
        return event
    if clinician_treats_patient(clinician=user, patient=event.patient):
        return event
    if Notification.objects.filter(event=event, recipient=user).exists():
        return event
    raise Http404


def crisis_events_needing_attention(*, user: User) -> QuerySet[CrisisEvent]:
    """Unacknowledged events this staff member was alerted about (every event for admins)."""
    if not (user.is_authenticated and user.is_staff_role):
        return CrisisEvent.objects.none()
    events = CrisisEvent.objects.filter(status__in=CrisisEvent.UNACKNOWLEDGED)
    if not user.is_clinic_admin:
        events = events.filter(Exists(_alerted(user)))
    return events.select_related("region").order_by("raised_at")


@dataclass(frozen=True)
class RegionReportRow:
    region_name: str
    region_code: str
    counts: dict[str, int]  # status -> number of events
    total: int
    acknowledged: int
    median_ack: timedelta | None
    slowest_ack: timedelta | None


def crisis_report(*, since: datetime | None = None) -> list[RegionReportRow]:
    """Events by region and status, with time from raising to acknowledgement. Admins only
    (the view checks the role); counts and durations only, no patient identities."""
    events = CrisisEvent.objects.all()
    if since is not None:
        events = events.filter(raised_at__gte=since)
    rows: dict[str, dict] = {}
    for region_code, region_name, status, raised_at, acknowledged_at in events.values_list(
        "region__code", "region__name", "status", "raised_at", "acknowledged_at"
    ):
        key = region_code or ""
        row = rows.setdefault(key, {"name": region_name or "", "counts": dict.fromkeys(
            CrisisEvent.Status.values, 0), "acks": []})
        row["counts"][status] += 1
        if acknowledged_at is not None:
            row["acks"].append(acknowledged_at - raised_at)
    report = []
    for code in sorted(rows):
        row = rows[code]
        acks = row["acks"]
        report.append(RegionReportRow(
            region_name=row["name"], region_code=code, counts=row["counts"],
            total=sum(row["counts"].values()), acknowledged=len(acks),
            median_ack=median(acks) if acks else None, slowest_ack=max(acks) if acks else None,
        ))
    return report


def crisis_unacknowledged_count() -> int:
    """For the clinic overview (a count, no identities)."""
    return CrisisEvent.objects.filter(status__in=CrisisEvent.UNACKNOWLEDGED).count()


def resources_for_admin_review() -> QuerySet[CrisisResource]:
    return CrisisResource.objects.select_related("region").order_by("region__code", "position")
