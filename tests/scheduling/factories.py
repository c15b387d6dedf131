"""Scheduling test helpers: clinicians with hours, fixed instants, appointments."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from accounts.models import License, Region, User
from scheduling.models import Appointment, AvailabilityRule, SchedulingSettings
from tests.factories import make_clinician

UTC = ZoneInfo("UTC")
HCM = ZoneInfo("Asia/Ho_Chi_Minh")
NEW_YORK = ZoneInfo("America/New_York")
ALL_WEEK = range(7)


def at(zone: ZoneInfo, year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """An aware instant from a wall-clock time in `zone` (zoneinfo resolves DST)."""
    return datetime(year, month, day, hour, minute, tzinfo=zone)


def set_hours(clinician: User, *, weekdays=ALL_WEEK, start: time = time(9), end: time = time(12)) -> None:
    for weekday in weekdays:
        AvailabilityRule.objects.create(clinician=clinician, weekday=weekday, start_time=start, end_time=end)


def set_settings(clinician: User, **values) -> SchedulingSettings:
    item, _ = SchedulingSettings.objects.update_or_create(clinician=clinician, defaults=values)
    return item


def bookable_clinician(
    *, regions: list[Region], time_zone: str = "Asia/Ho_Chi_Minh", valid_from: date = date(2025, 1, 1),
    valid_until: date = date(2028, 12, 31), status: str = License.Status.VERIFIED,
    weekdays=ALL_WEEK, start: time = time(9), end: time = time(12), display_name: str = "",
    **settings,
) -> User:
    """A clinician licensed in `regions` with daily hours 09:00-12:00 (their zone) by default:
    50-minute visits and 10-minute buffers give slots at 09:00, 10:00 and 11:00."""
    clinician = make_clinician(regions=regions, valid_from=valid_from, valid_until=valid_until,
                               status=status, time_zone=time_zone, display_name=display_name)
    set_hours(clinician, weekdays=weekdays, start=start, end=end)
    if settings:
        set_settings(clinician, **settings)
    return clinician


def make_appointment(*, patient: User, clinician: User, region: Region, starts_at: datetime,
                     minutes: int = 50, status: str = Appointment.Status.BOOKED) -> Appointment:
    """Written directly (bypassing the booking checks) to set up a past or awkward situation."""
    return Appointment.objects.create(
        patient=patient, clinician=clinician, region=region, starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=minutes), status=status,
    )


def local_times(slots, zone: ZoneInfo) -> list[str]:
    return [slot.starts_at.astimezone(zone).strftime("%Y-%m-%d %H:%M") for slot in slots]
