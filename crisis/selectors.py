from accounts.models import Region, User
from accounts.selectors import patient_profile_for


def region_for_help(*, user: User, region_code: str | None) -> Region | None:
    """The region whose help to show: one chosen on the page, else where the patient is now
    (confirmed at the start of a call), else their home region."""
    if region_code:
        return Region.objects.filter(code=region_code).first()
    if user.is_authenticated and user.is_patient:
        profile = patient_profile_for(user=user)
        if profile is not None:
            return profile.current_region or profile.home_region
    return None
