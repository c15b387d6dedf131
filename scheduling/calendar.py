"""iCalendar output with the `icalendar` library: one appointment, or a clinician's feed."""

from collections.abc import Iterable

from django.conf import settings
from django.utils import timezone
from icalendar import Calendar, Event

from .models import Appointment

PRODID = "-//telepsych//scheduling//EN"


def _calendar(name: str) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    return calendar


def _event(appointment: Appointment, *, summary: str) -> Event:
    """SEQUENCE counts reschedules, so calendar apps replace the old time instead of keeping it."""
    event = Event()
    host = getattr(settings, "TELEPSYCH_SITE_URL", "telepsych").split("//")[-1].split("/")[0]
    event.add("uid", f"appointment-{appointment.pk}@{host}")
    event.add("dtstamp", timezone.now())
    event.add("dtstart", appointment.starts_at)
    event.add("dtend", appointment.ends_at)
    event.add("summary", summary)
    event.add("sequence", getattr(appointment, "revision", 0))
    event.add("status", "CANCELLED" if appointment.status == Appointment.Status.CANCELLED else "CONFIRMED")
    return event


def appointment_calendar(*, appointment: Appointment, link: str) -> bytes:
    """For a participant's own calendar: a generic title and the link; no names or notes."""
    calendar = _calendar("telepsych")
    event = _event(appointment, summary="telepsych appointment")
    event.add("url", link)
    event.add("description", link)
    calendar.add_component(event)
    return calendar.to_ical()


def clinician_feed(*, appointments: Iterable[Appointment]) -> bytes:
    """The private feed: times and "Appointment" only."""
    calendar = _calendar("telepsych appointments")
    for appointment in appointments:
        calendar.add_component(_event(appointment, summary="Appointment"))
    return calendar.to_ical()
