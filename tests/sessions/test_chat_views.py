"""The messages pages over HTTP: authorization matrix, plain form posts, escaping, limits, audit."""

import pytest
from django.test import override_settings
from django.urls import reverse

from records.models import AuditEvent
from sessions.chat_models import MESSAGE_MAX_CHARS, Message, Thread
from sessions.chat_services import message_send
from tests.factories import make_clinician, make_patient, make_region
from tests.sessions.chat_factories import make_care, make_cast

pytestmark = pytest.mark.django_db


@pytest.fixture
def cast():
    return make_cast()


def as_user(client, user):
    client.force_login(user)
    return client


def post_message(client, thread, body, client_id="form-0001"):
    return client.post(reverse("sessions:thread", args=[thread.pk]),
                       {"body": body, "client_id": client_id})


# --- Authorization matrix ------------------------------------------------------------------------

def test_anonymous_is_sent_to_sign_in(client, cast):
    for url in (reverse("sessions:messages"), reverse("sessions:thread", args=[cast.thread.pk]),
                reverse("sessions:thread_with", args=[cast.clinician.pk])):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    response = post_message(client, cast.thread, "anonymous words")
    assert response.status_code == 302
    assert Message.objects.count() == 0


@pytest.mark.parametrize("who", ["other_patient", "other_clinician"])
def test_outsiders_get_404_and_change_nothing(client, cast, who):
    as_user(client, getattr(cast, who))
    url = reverse("sessions:thread", args=[cast.thread.pk])
    assert client.get(url).status_code == 404
    assert post_message(client, cast.thread, "intruder").status_code == 404
    other = cast.clinician if who == "other_patient" else cast.patient
    assert client.get(reverse("sessions:thread_with", args=[other.pk])).status_code == 404
    assert Message.objects.count() == 0
    assert Thread.objects.count() == 1
    assert not AuditEvent.objects.filter(object_type="message_thread").exists()
    # Their own list does not show this thread.
    page = client.get(reverse("sessions:messages"))
    assert page.status_code == 200
    assert cast.thread.pk not in [s.thread_id for s in page.context["summaries"]]


def test_clinic_admin_is_refused(client, cast):
    as_user(client, cast.admin)
    assert client.get(reverse("sessions:messages")).status_code == 403
    assert client.get(reverse("sessions:thread", args=[cast.thread.pk])).status_code == 403
    assert post_message(client, cast.thread, "admin words").status_code == 403
    assert Message.objects.count() == 0


@pytest.mark.parametrize("who", ["patient", "clinician"])
def test_participants_read_and_write(client, cast, who):
    user = getattr(cast, who)
    as_user(client, user)
    response = post_message(client, cast.thread, "Plain form message")
    assert response.status_code == 302
    assert response["Location"] == reverse("sessions:thread", args=[cast.thread.pk])
    message = Message.objects.get()
    assert (message.seq, message.sender_id, message.decrypt_field("body")) == (
        1, user.pk, "Plain form message")
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert [m.body for m in page.context["history"]] == ["Plain form message"]
    assert page.context["role"] == who
    audits = AuditEvent.objects.filter(object_type="message_thread")
    assert list(audits.values_list("actor_id", "patient_id", "object_id")) == [
        (user.pk, cast.patient.pk, str(cast.thread.pk))]
    listing = client.get(reverse("sessions:messages"))
    assert [s.thread_id for s in listing.context["summaries"]] == [cast.thread.pk]


# --- Forms, escaping, limits ----------------------------------------------------------------------

def test_double_submit_stores_once(client, cast):
    as_user(client, cast.patient)
    post_message(client, cast.thread, "Only once", client_id="same-id-123")
    post_message(client, cast.thread, "Only once", client_id="same-id-123")
    assert Message.objects.count() == 1


def test_script_is_shown_as_text(client, cast):
    message_send(thread=cast.thread, sender=cast.clinician, client_id="xss-00001",
                 body='<script>alert("x")</script><img src=x onerror=alert(1)>')
    page = as_user(client, cast.patient).get(reverse("sessions:thread", args=[cast.thread.pk]))
    html = page.content.decode()
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in html


def test_oversized_message_is_a_form_error(client, cast):
    as_user(client, cast.patient)
    response = post_message(client, cast.thread, "y" * (MESSAGE_MAX_CHARS + 1))
    assert response.status_code == 400
    assert "body" in response.context["form"].errors
    assert Message.objects.count() == 0
    ok = post_message(client, cast.thread, "y" * MESSAGE_MAX_CHARS, client_id="form-0002")
    assert ok.status_code == 302
    assert Message.objects.count() == 1


@override_settings(TELEPSYCH_CHAT_RATE_LIMIT=2, TELEPSYCH_CHAT_RATE_WINDOW_SECONDS=60)
def test_rate_limit_is_a_form_error(client, cast):
    as_user(client, cast.patient)
    assert post_message(client, cast.thread, "1", client_id="rate-form-1").status_code == 302
    assert post_message(client, cast.thread, "2", client_id="rate-form-2").status_code == 302
    limited = post_message(client, cast.thread, "3", client_id="rate-form-3")
    assert limited.status_code == 400
    assert len(limited.context["form"].errors["body"]) == 1
    assert Message.objects.count() == 2


def test_bad_client_id_is_refused(client, cast):
    as_user(client, cast.patient)
    assert post_message(client, cast.thread, "hi", client_id="<x>").status_code == 400
    assert Message.objects.count() == 0


def test_opening_marks_read_and_lists_unread(client, cast):
    for i in range(3):
        message_send(thread=cast.thread, sender=cast.clinician, client_id=f"unread-{i:03d}",
                     body=f"note {i}")
    as_user(client, cast.patient)
    listing = client.get(reverse("sessions:messages"))
    assert [(s.thread_id, s.unread) for s in listing.context["summaries"]] == [(cast.thread.pk, 3)]
    assert 'class="unread-badge"' in listing.content.decode()
    client.get(reverse("sessions:thread", args=[cast.thread.pk]))
    cast.thread.refresh_from_db()
    assert cast.thread.patient_read_seq == 3
    home = client.get(reverse("home"))
    assert home.status_code == 200


def test_thread_with_creates_once_for_a_care_relationship(client):
    region = make_region("VN-SG")
    patient = make_patient(region=region)
    clinician = make_clinician(regions=[region])
    make_care(patient=patient, clinician=clinician)
    as_user(client, patient)
    first = client.get(reverse("sessions:thread_with", args=[clinician.pk]))
    thread = Thread.objects.get()
    assert first["Location"] == reverse("sessions:thread", args=[thread.pk])
    as_user(client, clinician)
    second = client.get(reverse("sessions:thread_with", args=[patient.pk]))
    assert second["Location"] == first["Location"]
    assert Thread.objects.count() == 1
    assert client.get(reverse("sessions:thread_with", args=[999999])).status_code == 404


def test_home_shows_unread_count(client, cast):
    for i in range(2):
        message_send(thread=cast.thread, sender=cast.clinician, client_id=f"home-{i:04d}",
                     body="hello")
    home = as_user(client, cast.patient).get(reverse("home"))
    assert home.context["unread_messages"] == 2
    assert 'id="unread-messages-heading"' in home.content.decode()
    clinician_home = as_user(client, cast.clinician).get(reverse("home"))
    assert clinician_home.context["unread_messages"] == 0
    assert "unread-messages-heading" not in clinician_home.content.decode()
