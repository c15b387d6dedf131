"""Free-slot arithmetic: pure functions over plain data, no queries (selectors fetch the data).

Wall-clock rules live in the clinician's zone and are turned into instants with `zoneinfo`, so a
09:00 rule in America/New_York stays 09:00 local across both DST changes. Stepping from one slot
to the next happens in UTC, so a window crossing a DST change still yields real durations.
"""

from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Slot:
    clinician_id: int
    starts_at: datetime  # aware, UTC
    ends_at: datetime


@dataclass(frozen=True)
class WeeklyHours:
    weekday: int  # Monday is 0
    start: time
    end: time


@dataclass(frozen=True)
class TimeOff:
    first_day: date
    last_day: date


@dataclass(frozen=True)
class ExtraHours:
    day: date
    start: time
    end: time


@dataclass
class ClinicianSchedule:
    """Everything needed to compute one clinician's free slots for one region."""

    clinician_id: int
    zone: ZoneInfo
    appointment_minutes: int
    buffer_minutes: int
    min_notice: timedelta
    horizon: timedelta
    weekly: list[WeeklyHours] = field(default_factory=list)
    time_off: list[TimeOff] = field(default_factory=list)
    extra: list[ExtraHours] = field(default_factory=list)
    busy: list[tuple[datetime, datetime]] = field(default_factory=list)  # active appointments
    # (valid_from, valid_until) of verified licenses for the region, both days inclusive.
    licensed: list[tuple[date, date]] = field(default_factory=list)


def _local_windows(schedule: ClinicianSchedule, day: date) -> list[tuple[datetime, datetime]]:
    """The bookable windows of one local day, as UTC instants."""
    off = any(item.first_day <= day <= item.last_day for item in schedule.time_off)
    hours = [] if off else [(w.start, w.end) for w in schedule.weekly if w.weekday == day.weekday()]
    hours += [(e.start, e.end) for e in schedule.extra if e.day == day]
    windows = []
    for start, end in hours:
        local_start = datetime.combine(day, start, tzinfo=schedule.zone)
        local_end = datetime.combine(day, end, tzinfo=schedule.zone)
        windows.append((local_start.astimezone(UTC), local_end.astimezone(UTC)))
    return sorted(windows)


def _licensed_intervals(schedule: ClinicianSchedule, region_zone: ZoneInfo) -> list[tuple[datetime, datetime]]:
    """License days (in the patient's region) as merged UTC intervals [first midnight, day after last)."""
    intervals = sorted(
        (datetime.combine(first, time(0), tzinfo=region_zone).astimezone(UTC),
         datetime.combine(last + timedelta(days=1), time(0), tzinfo=region_zone).astimezone(UTC))
        for first, last in schedule.licensed
    )
    merged: list[tuple[datetime, datetime]] = []
    for low, high in intervals:
        if merged and low <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return merged


def iter_free_slots(
    schedule: ClinicianSchedule,
    *,
    region_zone: ZoneInfo,
    window_start: datetime,
    window_end: datetime,
    now: datetime,
    ignore_notice: bool = False,
) -> Iterator[Slot]:
    """Free slots starting in [window_start, window_end), earliest first, lazily."""
    length = timedelta(minutes=schedule.appointment_minutes)
    buffer = timedelta(minutes=schedule.buffer_minutes)
    step = length + buffer
    earliest = max(window_start, now if ignore_notice else now + schedule.min_notice)
    latest = min(window_end, now + schedule.horizon)
    if earliest >= latest or not schedule.licensed:
        return
    # Busy intervals grown by the buffer on both sides. A clinician's active appointments never
    # overlap (the database forbids it), so sorted by start they are sorted by end too: the one
    # interval that can clash with a slot is the first ending after the slot starts (bisect).
    licensed = _licensed_intervals(schedule, region_zone)
    busy = sorted((start - buffer, end + buffer) for start, end in schedule.busy)
    busy_starts = [b[0] for b in busy]
    busy_ends = [b[1] for b in busy]

    def is_busy(start: datetime, end: datetime) -> bool:
        index = bisect_right(busy_ends, start)
        # Also scan on while intervals start before the slot ends (covers any overlap in the data).
        while index < len(busy) and busy_starts[index] < end:
            if busy_ends[index] > start:
                return True
            index += 1
        return False

    day = earliest.astimezone(schedule.zone).date()
    last_day = latest.astimezone(schedule.zone).date()
    while day <= last_day:
        # Windows may overlap (extra hours over weekly hours): collect a day, then sort it.
        found: dict[datetime, Slot] = {}
        for open_at, close_at in _local_windows(schedule, day):
            start = open_at
            while start + length <= close_at:
                end = start + length
                if (
                    earliest <= start < latest
                    and start not in found
                    # The whole visit falls on days the license is valid in the patient's region.
                    and any(low <= start and end <= high for low, high in licensed)
                    and not is_busy(start, end)
                ):
                    found[start] = Slot(schedule.clinician_id, start, end)
                start += step
        yield from (found[key] for key in sorted(found))
        day += timedelta(days=1)


def free_slots(schedule: ClinicianSchedule, **kwargs) -> list[Slot]:
    return list(iter_free_slots(schedule, **kwargs))


def next_free_slot(schedule: ClinicianSchedule, **kwargs) -> Slot | None:
    return next(iter_free_slots(schedule, **kwargs), None)
