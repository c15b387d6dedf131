"""Demo crisis resources for the four demo regions. Idempotent: existing entries are left as an
admin may have edited them."""

from datetime import date

from accounts.models import Region

# Verified: the national emergency numbers and the US 988 Lifeline (call or text).
US = [
    dict(kind="emergency", name="Emergency services (911)", name_vi="Cấp cứu (911)", phone="911",
         hours="24/7", languages=["en", "es"], verified=True, position=1,
         description="Police, fire and ambulance.",
         description_vi="Cảnh sát, cứu hỏa và cấp cứu."),
    dict(kind="hotline", name="988 Suicide & Crisis Lifeline",
         name_vi="Đường dây 988 phòng chống tự tử và khủng hoảng", phone="988", sms="988",
         hours="24/7", languages=["en", "es"], url="https://988lifeline.org/", verified=True,
         position=2, description="Call or text 988 to talk to a trained counselor.",
         description_vi="Gọi hoặc nhắn tin 988 để nói chuyện với tư vấn viên."),
]
VN = [
    dict(kind="emergency", name="Medical emergency (115)", name_vi="Cấp cứu y tế (115)",
         phone="115", hours="24/7", languages=["vi"], verified=True, position=1,
         description="Ambulance and emergency medical help.",
         description_vi="Xe cứu thương và cấp cứu y tế."),
    dict(kind="emergency", name="Police (113)", name_vi="Công an (113)", phone="113",
         hours="24/7", languages=["vi"], verified=True, position=2,
         description="If you or someone else is in danger.",
         description_vi="Nếu bạn hoặc người khác đang gặp nguy hiểm."),
    # Not verified: hidden from patients until a clinic admin checks the number.
    dict(kind="hotline", name="Child protection hotline (111)",
         name_vi="Tổng đài quốc gia bảo vệ trẻ em (111)", phone="111", hours="24/7",
         languages=["vi"], verified=False, position=10,
         description="For children and young people.",
         description_vi="Dành cho trẻ em và người trẻ."),
]
RESOURCES = {"US-NY": US, "US-CA": US, "VN-HN": VN, "VN-SG": VN}


def seed(*, people=None, stdout=None) -> None:
    from .models import CrisisResource

    created = 0
    for code, entries in RESOURCES.items():
        region = Region.objects.filter(code=code).first()
        if region is None:
            continue
        for entry in entries:
            defaults = {k: v for k, v in entry.items() if k != "name"}
            if defaults.get("verified"):
                defaults["last_verified"] = date(2026, 11, 1)
            _obj, was_created = CrisisResource.objects.get_or_create(
                region=region, name=entry["name"], defaults=defaults
            )
            created += was_created
    if people is not None:
        _put_one_clinician_on_call(people)
    if stdout is not None:
        stdout.write(f"crisis: {created} crisis resources added")


def _put_one_clinician_on_call(people) -> None:
    """Dr Tran is on call in the demo, so escalations have somewhere to go."""
    from accounts.services import clinician_on_call_set

    for user in people.clinicians:
        if user.email.startswith("dr.tran@"):
            clinician_on_call_set(clinician=user, on_call=True)
