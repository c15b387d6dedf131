"""Clinic admins manage resources and rules in the admin; the demo seed is idempotent."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import ClinicianProfile, User
from crisis import demo
from crisis.detection import detect_risk
from crisis.models import CrisisResource, RiskRule
from tests.crisis.factories import make_resource
from tests.factories import make_clinician, make_region, make_staff

pytestmark = pytest.mark.django_db


def admin_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("role, status", [("clinic_admin", 200), ("clinician", 403)])
def test_only_clinic_admins_reach_the_crisis_admin(role, status):
    user = make_staff(role=role)
    User.objects.filter(pk=user.pk).update(is_staff=True)
    user.refresh_from_db()
    for model in ("crisisresource", "riskrule", "crisisevent", "notification"):
        response = admin_client(user).get(f"/admin/crisis/{model}/")
        assert response.status_code == status, model


def test_a_rule_added_in_the_admin_is_used_at_once():
    admin = make_staff(role=User.Role.CLINIC_ADMIN)
    User.objects.filter(pk=admin.pk).update(is_staff=True)
    assert detect_risk(text="I am going to walk into the sea") is None  # loads the cache
    response = admin_client(admin).post("/admin/crisis/riskrule/add/", {
        "language": "en", "kind": "phrase", "pattern": "walk into the sea", "active": "on",
        "note": "",
    })
    assert response.status_code == 302
    match = detect_risk(text="I am going to walk into the sea")
    assert match is not None and match.phrase == "walk into the sea"


def test_a_broken_regex_is_refused_by_the_admin_form():
    admin = make_staff(role=User.Role.CLINIC_ADMIN)
    User.objects.filter(pk=admin.pk).update(is_staff=True)
    before = RiskRule.objects.count()
    response = admin_client(admin).post("/admin/crisis/riskrule/add/", {
        "language": "en", "kind": "regex", "pattern": "(unclosed", "active": "on", "note": "",
    })
    assert response.status_code == 200
    assert "not a valid regular expression" in response.content.decode()
    assert RiskRule.objects.count() == before


def test_resources_are_stale_after_six_months(region_sg):
    today = timezone.localdate()
    fresh = make_resource(region_sg, phone="113", last_verified=today - timedelta(days=180))
    stale = make_resource(region_sg, phone="114", last_verified=today - timedelta(days=200))
    never = make_resource(region_sg, phone="111", verified=False)
    assert (fresh.is_stale(), stale.is_stale(), never.is_stale()) == (False, True, True)


def test_a_verified_resource_needs_a_verification_date(region_sg):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        CrisisResource.objects.create(region=region_sg, kind="hotline", name="X", phone="1",
                                      verified=True, last_verified=None)


def test_a_resource_needs_a_way_to_reach_it(region_sg):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        CrisisResource.objects.create(region=region_sg, kind="hotline", name="Y")


def test_demo_seed_fills_the_four_regions_and_is_idempotent():
    for code in ("VN-HN", "VN-SG", "US-CA", "US-NY"):
        make_region(code)
    tran = make_clinician()
    User.objects.filter(pk=tran.pk).update(email="dr.tran@telepsych.demo")
    tran.refresh_from_db()
    people = SimpleNamespace(clinicians=[tran])
    demo.seed(people=people)
    first = list(CrisisResource.objects.values_list("region__code", "phone", "verified"))
    demo.seed(people=people)
    assert list(CrisisResource.objects.values_list("region__code", "phone", "verified")) == first
    visible = set(CrisisResource.objects.filter(verified=True)
                  .values_list("region__code", "phone"))
    assert visible == {("US-NY", "911"), ("US-NY", "988"), ("US-CA", "911"), ("US-CA", "988"),
                       ("VN-HN", "115"), ("VN-HN", "113"), ("VN-SG", "115"), ("VN-SG", "113")}
    # Other Vietnamese lines only as unverified entries, hidden from patients until checked.
    assert set(CrisisResource.objects.filter(verified=False).values_list("region__code", "phone")) \
        == {("VN-HN", "111"), ("VN-SG", "111")}
    us_988 = CrisisResource.objects.get(region__code="US-NY", phone="988")
    assert us_988.sms == "988"
    assert ClinicianProfile.objects.get(user=tran).on_call is True


def test_beat_schedule_has_the_crisis_tasks():
    from crisis.schedules import BEAT_SCHEDULE
    from telepsych.celery import SCHEDULE_MODULES, app

    assert "crisis.schedules" in SCHEDULE_MODULES
    assert BEAT_SCHEDULE["crisis-escalations"]["task"] == "crisis.escalations_run"
    assert BEAT_SCHEDULE["crisis-outbox-drain"]["task"] == "crisis.outbox_drain"
    app.loader.import_default_modules()  # what a worker does at start: autodiscovery
    assert {"crisis.escalations_run", "crisis.outbox_drain"} <= set(app.tasks)
