from functools import wraps
from urllib.parse import urlencode

from django.shortcuts import redirect
from django.urls import reverse

from .models import User
from .permissions import role_required
from .selectors import consent_is_current


def patient_with_consent(view):
    """Patients only, and only after accepting the current consent version."""

    @role_required(User.Role.PATIENT)
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not consent_is_current(patient=request.user):
            return redirect(reverse("consent") + "?" + urlencode({"next": request.get_full_path()}))
        return view(request, *args, **kwargs)

    return wrapped
