"""Pure predicates about who may do what. No queries beyond the objects passed in."""

from functools import wraps

from django.core.exceptions import PermissionDenied

from .models import User

STAFF_ROLES = frozenset({User.Role.CLINICIAN, User.Role.CLINIC_ADMIN})


def has_role(user, *roles: str) -> bool:
    return bool(user.is_authenticated and user.is_active and user.role in roles)


def is_patient(user) -> bool:
    return has_role(user, User.Role.PATIENT)


def is_clinician(user) -> bool:
    return has_role(user, User.Role.CLINICIAN)


def is_clinic_admin(user) -> bool:
    return has_role(user, User.Role.CLINIC_ADMIN)


def needs_mfa(user) -> bool:
    return has_role(user, *STAFF_ROLES)


def role_required(*roles: str):
    """View decorator: signed-in users of another role get 403; anonymous users go to sign in."""

    def decorator(view):
        from django.contrib.auth.decorators import login_required

        @login_required
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not has_role(request.user, *roles):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
