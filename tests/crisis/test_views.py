"""Pages: "Get help now", the panic button, the care team's event page, the clinic report.
Every PHI page has its authorization matrix; a denial changes nothing."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from accounts.services import patient_location_confirm
from crisis.models import CrisisEvent, Notification
from crisis.services import crisis_event_raise
from tests.crisis.factories import link_care, make_resource
from tests.factories import make_clinician, make_patient, make_region, make_staff

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def world(region_sg, region_ny, consent_document):
    patient = make_patient(region=region_sg)
    other_patient = make_patient(region=region_sg)
    treating = make_clinician()
    link_care(patient=patient, clinician=treating)
    unrelated = make_clinician()
    admin = make_staff(role=User.Role.CLINIC_ADMIN)
    make_resource(region_sg, name="Medical emergency (115)", phone="115", kind="emergency")
    make_resource(region_sg, name="Police (113)", phone="113", kind="emergency")
    make_resource(region_sg, name="Unverified line", phone="111", verified=False)
    make_resource(region_ny, name="988 Suicide & Crisis Lifeline", phone="988", sms="988")
    return {"patient": patient, "other_patient": other_patient, "treating": treating,
            "unrelated": unrelated, "admin": admin}


# --- Get help now --------------------------------------------------------------------------


def test_help_without_sign_in_offers_a_region_chooser(world):
    response = client_for(None).get("/help/")
    assert response.status_code == 200
    html = response.content.decode()
    assert response.context["region"] is None
    assert 'name="region"' in html and 'value="VN-SG"' in html and 'value="US-NY"' in html
    assert "tel:" not in html.split("<main", 1)[1].split("</main>", 1)[0]
    assert "<script" not in html  # works without JavaScript: nothing to run for visitors


def test_help_for_a_chosen_region_lists_verified_numbers_only(world):
    response = client_for(None).get("/help/", {"region": "VN-SG"})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'href="tel:115"' in html and 'href="tel:113"' in html
    assert 'href="tel:111"' not in html and "Unverified line" not in html
    us = client_for(None).get("/help/", {"region": "US-NY"}).content.decode()
    assert 'href="tel:911"' in us and 'href="tel:988"' in us and 'href="sms:988"' in us


def test_help_for_an_unknown_region_is_a_404_with_the_chooser(world):
    response = client_for(None).get("/help/", {"region": "XX-YY"})
    assert response.status_code == 404
    assert response.context["unknown_region"] is True
    assert 'name="region"' in response.content.decode()


def test_help_for_a_patient_uses_where_they_are_now(world, region_ny):
    patient = world["patient"]
    response = client_for(patient).get("/help/")
    assert response.context["region"].code == "VN-SG"  # home region
    patient_location_confirm(patient=patient, region=region_ny)
    response = client_for(patient).get("/help/")
    assert response.context["region"].code == "US-NY"  # confirmed for the current call
    assert 'href="tel:988"' in response.content.decode()


def test_help_speaks_the_patients_language(world):
    response = client_for(world["patient"]).get("/help/")  # VN-SG: Vietnamese preferred
    assert response.context["LANGUAGE_CODE"] == "vi"


def test_help_staff_without_mfa_still_open_it(world):
    staff = make_clinician(mfa=False)
    assert client_for(staff).get("/help/").status_code == 200


# --- Panic button ---------------------------------------------------------------------------


def test_panic_raises_an_event_and_lands_on_help(world):
    patient = world["patient"]
    response = client_for(patient).post("/help/panic/")
    assert response.status_code == 302
    assert response["Location"] == "/help/?alerted=1"
    event = CrisisEvent.objects.get()
    assert (event.patient, event.source, event.status) == (patient, "panic_button", "open")
    page = client_for(patient).get(response["Location"])
    assert page.context["alerted"] is True


def test_panic_with_javascript_returns_the_panel(world):
    response = client_for(world["patient"]).post("/help/panic/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    data = response.json()
    assert data["event_id"] == CrisisEvent.objects.get().pk
    assert 'href="tel:115"' in data["html"]


@pytest.mark.parametrize("who", ["anonymous", "treating", "admin"])
def test_panic_denied_to_non_patients(world, who):
    user = None if who == "anonymous" else world[who]
    response = client_for(user).post("/help/panic/")
    assert response.status_code == (302 if who == "anonymous" else 403)
    if who == "anonymous":
        assert response["Location"].startswith("/accounts/login/")
    assert CrisisEvent.objects.count() == 0


def test_panic_only_by_post(world):
    assert client_for(world["patient"]).get("/help/panic/").status_code == 405
    assert CrisisEvent.objects.count() == 0


def test_panic_needs_csrf(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world["patient"])
    assert client.post("/help/panic/").status_code == 403
    assert CrisisEvent.objects.count() == 0


# --- The care team's event page ----------------------------------------------------------------


@pytest.fixture
def event(world):
    return crisis_event_raise(patient=world["patient"], source="chat", detail="matched rule")


@pytest.mark.parametrize("who, status", [
    ("anonymous", 302), ("patient", 403), ("other_patient", 403), ("unrelated", 404),
    ("treating", 200), ("admin", 200),
])
def test_event_page_matrix(world, event, who, status):
    user = None if who == "anonymous" else world[who]
    response = client_for(user).get(f"/help/events/{event.pk}/")
    assert response.status_code == status
    if status != 200:
        assert world["patient"].email not in response.content.decode()
    else:
        html = response.content.decode()
        assert world["patient"].get_full_name() in html
        assert 'href="tel:115"' in html


def test_event_page_for_staff_without_mfa_goes_to_enrolment(world, event):
    staff = make_clinician(mfa=False)
    link_care(patient=world["patient"], clinician=staff)
    response = client_for(staff).get(f"/help/events/{event.pk}/")
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_activate_totp")


def test_missing_event_is_404(world):
    assert client_for(world["admin"]).get("/help/events/999999/").status_code == 404


@pytest.mark.parametrize("who, status", [
    ("anonymous", 302), ("patient", 403), ("other_patient", 403), ("unrelated", 404),
])
def test_acknowledge_denied(world, event, who, status):
    user = None if who == "anonymous" else world[who]
    response = client_for(user).post(f"/help/events/{event.pk}/acknowledge/", {"note": "x"})
    assert response.status_code == status
    event.refresh_from_db()
    assert (event.status, event.acknowledged_by, event.follow_up_note) == ("open", None, "")


def test_treating_clinician_acknowledges_and_patient_and_staff_are_told(world, event):
    treating = world["treating"]
    response = client_for(treating).post(
        f"/help/events/{event.pk}/acknowledge/", {"note": "Called the patient, safe at home."})
    assert response.status_code == 302
    event.refresh_from_db()
    assert (event.status, event.acknowledged_by, event.follow_up_note) == (
        "acknowledged", treating, "Called the patient, safe at home.")
    assert event.next_escalation_at is None
    told = set(Notification.objects.filter(payload__kind="crisis.acknowledged")
               .values_list("recipient_id", flat=True))
    assert told == {world["patient"].pk, treating.pk}


def test_a_second_acknowledgement_changes_nothing(world, event):
    client_for(world["treating"]).post(f"/help/events/{event.pk}/acknowledge/")
    response = client_for(world["admin"]).post(
        f"/help/events/{event.pk}/acknowledge/", HTTP_ACCEPT="application/json")
    assert response.status_code == 409
    event.refresh_from_db()
    assert event.acknowledged_by == world["treating"]


def test_acknowledge_by_fetch_returns_json(world, event):
    response = client_for(world["admin"]).post(
        f"/help/events/{event.pk}/acknowledge/", HTTP_ACCEPT="application/json")
    assert response.json() == {"event_id": event.pk, "status": "acknowledged"}


def test_follow_up_and_close(world, event):
    client = client_for(world["treating"])
    response = client.post(f"/help/events/{event.pk}/follow-up/", {"note": "Plan agreed."})
    assert response.status_code == 302
    event.refresh_from_db()
    assert (event.status, event.follow_up_note) == ("acknowledged", "Plan agreed.")
    client.post(f"/help/events/{event.pk}/follow-up/", {"note": "Seen in person.", "close": "on"})
    event.refresh_from_db()
    assert (event.status, event.follow_up_note) == ("closed", "Seen in person.")
    assert event.closed_at is not None


def test_follow_up_needs_a_note(world, event):
    response = client_for(world["treating"]).post(f"/help/events/{event.pk}/follow-up/", {})
    assert response.status_code == 400
    event.refresh_from_db()
    assert event.status == "open"


def test_follow_up_denied_to_unrelated_clinician(world, event):
    response = client_for(world["unrelated"]).post(
        f"/help/events/{event.pk}/follow-up/", {"note": "x", "close": "on"})
    assert response.status_code == 404
    event.refresh_from_db()
    assert (event.status, event.follow_up_note) == ("open", "")


# --- The panel on every page (no-JS path) and the staff banner ---------------------------------


def test_open_event_panel_on_the_patients_next_page(world, event):
    html = client_for(world["patient"]).get("/").content.decode()
    assert 'id="crisis-panel"' in html and 'href="tel:115"' in html
    other = client_for(world["other_patient"]).get("/").content.decode()
    assert 'id="crisis-panel"' not in other


def test_panel_goes_once_acknowledged(world, event):
    client_for(world["treating"]).post(f"/help/events/{event.pk}/acknowledge/")
    html = client_for(world["patient"]).get("/").content.decode()
    assert 'id="crisis-panel"' not in html


def test_staff_banner_for_alerted_staff_only(world, event):
    treating = client_for(world["treating"]).get("/").content.decode()
    assert f'data-event-id="{event.pk}"' in treating
    unrelated = client_for(world["unrelated"]).get("/").content.decode()
    assert f'data-event-id="{event.pk}"' not in unrelated
    admin = client_for(world["admin"]).get("/").content.decode()
    assert f'data-event-id="{event.pk}"' in admin


# --- Report -------------------------------------------------------------------------------------


@pytest.mark.parametrize("who, status", [
    ("anonymous", 302), ("patient", 403), ("treating", 403), ("admin", 200),
])
def test_report_matrix(world, who, status):
    user = None if who == "anonymous" else world[who]
    assert client_for(user).get("/help/report/").status_code == status


def test_report_counts_and_time_to_acknowledge(world, region_ny):
    from datetime import timedelta

    from crisis.services import crisis_event_acknowledge

    first = crisis_event_raise(patient=world["patient"], source="chat")
    crisis_event_acknowledge(event_id=first.pk, by=world["treating"],
                             now=first.raised_at + timedelta(minutes=3))
    crisis_event_raise(patient=world["other_patient"], source="panic_button")
    ny_patient = make_patient(region=make_region("US-NY"))
    ny = crisis_event_raise(patient=ny_patient, source="questionnaire")
    crisis_event_acknowledge(event_id=ny.pk, by=world["admin"],
                             now=ny.raised_at + timedelta(seconds=40))
    response = client_for(world["admin"]).get("/help/report/")
    rows = {row.region_code: row for row in response.context["rows"]}
    assert set(rows) == {"VN-SG", "US-NY"}
    assert rows["VN-SG"].counts == {"open": 1, "escalated": 0, "acknowledged": 1, "closed": 0}
    assert rows["VN-SG"].median_ack == timedelta(minutes=3)
    assert rows["US-NY"].counts == {"open": 0, "escalated": 0, "acknowledged": 1, "closed": 0}
    assert rows["US-NY"].median_ack == timedelta(seconds=40)
    html = response.content.decode()
    assert world["patient"].email not in html and world["patient"].last_name not in html
    assert "Unverified line" in html  # never verified: listed for the admin to check


# --- Catch-up endpoints (asked by the page scripts when their socket (re)connects) ------------


@pytest.mark.parametrize("who, status", [
    ("anonymous", 302), ("treating", 403), ("admin", 403), ("other_patient", 200),
    ("patient", 200),
])
def test_panel_endpoint_matrix(world, event, who, status):
    user = None if who == "anonymous" else world[who]
    response = client_for(user).get("/help/panel/")
    assert response.status_code == status
    if who == "patient":
        assert response.json()["event_id"] == event.pk
        assert 'href="tel:115"' in response.json()["html"]
    elif who == "other_patient":
        assert response.json() == {"event_id": None, "html": None}


@pytest.mark.parametrize("who, status, sees", [
    ("anonymous", 302, False), ("patient", 403, False), ("unrelated", 200, False),
    ("treating", 200, True), ("admin", 200, True),
])
def test_alerts_endpoint_matrix(world, event, who, status, sees):
    user = None if who == "anonymous" else world[who]
    response = client_for(user).get("/help/alerts/")
    assert response.status_code == status
    if status == 200:
        expected = [{"kind": "crisis.alert", "event_id": event.pk,
                     "url": f"/help/events/{event.pk}/", "source": "chat", "escalation": 0}]
        assert response.json() == {"alerts": expected if sees else []}
        assert world["patient"].email not in response.content.decode()


def test_clinic_overview_counts_unacknowledged_alerts(world, event):
    response = client_for(world["admin"]).get("/")
    assert response.context["crisis_unacknowledged"] == 1
    assert 'href="/help/report/"' in response.content.decode()
    client_for(world["treating"]).post(f"/help/events/{event.pk}/acknowledge/")
    assert client_for(world["admin"]).get("/").context["crisis_unacknowledged"] == 0


def test_report_shows_durations_in_whole_seconds(world):
    from datetime import timedelta

    from crisis.services import crisis_event_acknowledge

    event = crisis_event_raise(patient=world["patient"], source="chat")
    crisis_event_acknowledge(event_id=event.pk, by=world["admin"],
                             now=event.raised_at + timedelta(minutes=3, seconds=7, microseconds=5))
    html = client_for(world["admin"]).get("/help/report/").content.decode()
    assert '<td class="median-ack">0:03:07</td>' in html


def test_event_page_does_not_repeat_its_own_alert_banner(world, event):
    other = crisis_event_raise(patient=world["other_patient"], source="panic_button")
    html = client_for(world["admin"]).get(f"/help/events/{event.pk}/").content.decode()
    assert f'data-event-id="{event.pk}"' not in html
    assert f'data-event-id="{other.pk}"' in html


def test_help_page_is_cheap(world, django_assert_max_num_queries):
    """Fast: a visitor's page costs the region, its resources and the chooser's list."""
    with django_assert_max_num_queries(3):
        assert client_for(None).get("/help/", {"region": "VN-SG"}).status_code == 200


def test_on_call_clinician_may_open_the_event_once_alerted(world, event):
    from datetime import timedelta

    from crisis.services import crisis_escalations_run
    from tests.crisis.factories import set_on_call

    on_call = world["unrelated"]
    set_on_call(on_call)
    assert client_for(on_call).get(f"/help/events/{event.pk}/").status_code == 404
    crisis_escalations_run(now=event.raised_at + timedelta(minutes=5))
    response = client_for(on_call).get(f"/help/events/{event.pk}/")
    assert response.status_code == 200
    assert f'data-event-id="{event.pk}"' in client_for(on_call).get("/").content.decode()
    client_for(on_call).post(f"/help/events/{event.pk}/acknowledge/", {"note": "Called 115."})
    event.refresh_from_db()
    assert (event.status, event.acknowledged_by, event.escalation_count) == (
        "acknowledged", on_call, 1)
