"""Join window, state changes, TURN credentials."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.utils import timezone

from scheduling.models import Appointment
from sessions import services
from sessions.models import SessionEvent, VideoSession
from sessions.selectors import join_window_for, join_window_is_open, signaling_participant
from sessions.turn import ice_servers_for, turn_credential_for
from tests.factories import make_clinician, make_region
from tests.sessions.factories import make_appointment, make_video_session

pytestmark = pytest.mark.django_db


def test_join_window_opens_15_minutes_before_and_closes_30_after():
    appointment = make_appointment(minutes=45)
    window = join_window_for(appointment=appointment)
    assert window.opens_at == appointment.starts_at - timedelta(minutes=15)
    assert window.closes_at == appointment.ends_at + timedelta(minutes=30)
    second = timedelta(seconds=1)
    assert window.is_open(window.opens_at) and window.is_open(window.closes_at)
    assert not window.is_open(window.opens_at - second)
    assert not window.is_open(window.closes_at + second)
    assert join_window_is_open(appointment=appointment, at=window.opens_at) is True
    appointment.status = Appointment.Status.CANCELLED
    assert join_window_is_open(appointment=appointment, at=window.opens_at) is False


@override_settings(TELEPSYCH_JOIN_OPENS_MINUTES_BEFORE=5, TELEPSYCH_JOIN_CLOSES_MINUTES_AFTER=0)
def test_join_window_is_configurable():
    appointment = make_appointment(minutes=30)
    window = join_window_for(appointment=appointment)
    assert window.opens_at == appointment.starts_at - timedelta(minutes=5)
    assert window.closes_at == appointment.ends_at


def test_confirming_location_stores_it_on_the_session_and_the_profile():
    session = make_video_session(confirmed=False)
    patient = session.appointment.patient
    hanoi = make_region("VN-HN")
    services.video_session_confirm_location(
        session_id=session.pk, patient=patient, region=hanoi, address="  1 Trang Tien  ",
        callback_phone="+84 24 3825 1234",
    )
    session.refresh_from_db()
    assert (session.location_region, session.location_address, session.callback_phone) == (
        hanoi, "1 Trang Tien", "+84 24 3825 1234")
    assert session.location_confirmed_at is not None
    patient.patient_profile.refresh_from_db()
    assert patient.patient_profile.current_region == hanoi
    assert patient.patient_profile.current_region_confirmed_at is not None


def test_only_the_patient_confirms_and_bad_phones_are_refused():
    session = make_video_session(confirmed=False)
    with pytest.raises(ValidationError):
        services.video_session_confirm_location(
            session_id=session.pk, patient=session.appointment.clinician,
            region=session.appointment.region, address="x", callback_phone="+84 1")
    with pytest.raises(ValidationError):
        services.video_session_confirm_location(
            session_id=session.pk, patient=session.appointment.patient,
            region=session.appointment.region, address="x", callback_phone="call me")
    session.refresh_from_db()
    assert session.location_confirmed_at is None


def test_admit_needs_a_waiting_patient_and_the_treating_clinician():
    session = make_video_session(state=VideoSession.State.SCHEDULED)
    clinician = session.appointment.clinician
    with pytest.raises(ValidationError, match="not in the waiting room"):
        services.video_session_admit(session_id=session.pk, clinician=clinician)
    session.state = VideoSession.State.WAITING
    session.save()
    other = make_clinician(regions=[session.appointment.region])
    with pytest.raises(ValidationError):
        services.video_session_admit(session_id=session.pk, clinician=other)
    admitted = services.video_session_admit(session_id=session.pk, clinician=clinician)
    assert admitted.state == VideoSession.State.LIVE
    assert admitted.started_at is not None
    # Twice is harmless.
    assert services.video_session_admit(session_id=session.pk,
                                        clinician=clinician).state == "live"
    assert SessionEvent.objects.filter(session=session, kind="admitted").count() == 1


def test_ending_completes_the_appointment_once_and_only_by_the_clinician():
    session = make_video_session(state=VideoSession.State.LIVE)
    appointment = session.appointment
    with pytest.raises(ValidationError):
        services.video_session_end(session_id=session.pk, clinician=appointment.patient)
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.BOOKED
    ended = services.video_session_end(session_id=session.pk, clinician=appointment.clinician)
    assert ended.state == VideoSession.State.ENDED and ended.ended_by == appointment.clinician
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.COMPLETED
    services.video_session_end(session_id=session.pk, clinician=appointment.clinician)
    assert SessionEvent.objects.filter(session=session, kind="ended").count() == 1


def test_an_older_socket_closing_does_not_take_a_waiting_patient_out():
    session = make_video_session(state=VideoSession.State.SCHEDULED)
    patient = session.appointment.patient
    services.video_session_patient_arrived(session_id=session.pk, patient=patient,
                                           channel_name="old")
    services.video_session_patient_arrived(session_id=session.pk, patient=patient,
                                           channel_name="new")
    services.video_session_participant_left(session_id=session.pk, user=patient,
                                            channel_name="old")
    session.refresh_from_db()
    assert session.state == VideoSession.State.WAITING
    services.video_session_participant_left(session_id=session.pk, user=patient,
                                            channel_name="new")
    session.refresh_from_db()
    assert session.state == VideoSession.State.SCHEDULED
    assert list(SessionEvent.objects.filter(session=session).values_list("kind", flat=True)) == [
        "joined", "reconnected", "left", "left"]


def test_waiting_message_is_trimmed_bounded_and_stored():
    session = make_video_session(state=VideoSession.State.WAITING)
    clinician = session.appointment.clinician
    services.video_session_message_waiting(session_id=session.pk, clinician=clinician,
                                           text="  Running   5 minutes late ")
    session.refresh_from_db()
    assert session.waiting_message == "Running 5 minutes late"
    with pytest.raises(ValidationError):
        services.video_session_message_waiting(session_id=session.pk, clinician=clinician,
                                               text="x" * 201)
    with pytest.raises(ValidationError):
        services.video_session_message_waiting(session_id=session.pk,
                                               clinician=session.appointment.patient, text="hi")
    session.refresh_from_db()
    assert session.waiting_message == "Running 5 minutes late"


def test_database_refuses_impossible_states():
    from django.db import IntegrityError, transaction

    session = make_video_session(confirmed=False)
    with pytest.raises(IntegrityError), transaction.atomic():
        VideoSession.objects.filter(pk=session.pk).update(state="waiting")
    with pytest.raises(IntegrityError), transaction.atomic():
        VideoSession.objects.filter(pk=session.pk).update(state="live")
    with pytest.raises(IntegrityError), transaction.atomic():
        VideoSession.objects.filter(pk=session.pk).update(state="ended")
    with pytest.raises(IntegrityError), transaction.atomic():
        VideoSession.objects.filter(pk=session.pk).update(state="paused")


def test_turn_credentials_follow_coturns_shared_secret_scheme():
    credential = turn_credential_for(user_id=42, secret="s3cret", ttl_seconds=3600,
                                     now=1_700_000_000)
    assert credential.username == "1700003600:42"
    assert credential.credential == "DfmaKoWkE6K1Hjz2w5FmaV3sBxs="
    assert credential.expires_at == 1_700_003_600


def test_ice_servers_are_empty_without_configuration_and_carry_turn_when_set(settings):
    settings.TELEPSYCH_STUN_URLS = []
    settings.TELEPSYCH_TURN_URLS = []
    settings.TELEPSYCH_TURN_SECRET = ""
    assert ice_servers_for(user_id=7) == []
    settings.TELEPSYCH_STUN_URLS = ["stun:turn.example.org:3478"]
    settings.TELEPSYCH_TURN_URLS = ["turn:turn.example.org:3478?transport=udp"]
    settings.TELEPSYCH_TURN_SECRET = "s3cret"
    settings.TELEPSYCH_TURN_TTL_SECONDS = 3600
    servers = ice_servers_for(user_id=42, now=1_700_000_000)
    assert servers == [
        {"urls": ["stun:turn.example.org:3478"]},
        {"urls": ["turn:turn.example.org:3478?transport=udp"], "username": "1700003600:42",
         "credential": "DfmaKoWkE6K1Hjz2w5FmaV3sBxs="},
    ]


def test_signaling_participant_roles():
    session = make_video_session(state=VideoSession.State.LIVE)
    appointment = session.appointment
    assert signaling_participant(user=appointment.patient, session_id=session.pk).role == "patient"
    assert signaling_participant(user=appointment.clinician,
                                 session_id=session.pk).role == "clinician"
    late = timezone.now() + timedelta(hours=3)
    from sessions.selectors import SignalingDenied

    with pytest.raises(SignalingDenied) as denied:
        signaling_participant(user=appointment.patient, session_id=session.pk, at=late)
    assert denied.value.code == 4403
