"""The role home pages. They compose selectors from every app, so they live above the apps."""

from datetime import timedelta

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from accounts.models import License, User
from accounts.selectors import consent_is_current, patient_profile_for
from crisis.selectors import crisis_unacknowledged_count
from records.selectors import flagged_patients_for_clinician, measure_requests_due
from scheduling.selectors import todays_appointments_for, upcoming_for_patient
from sessions.chat_selectors import unread_count_for
from sessions.selectors import waiting_patients_for_clinician


def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not user.is_authenticated:
        return render(request, "home/anonymous.html")
    if user.role == User.Role.PATIENT:
        return patient_home(request)
    if user.role == User.Role.CLINICIAN:
        return clinician_home(request)
    return admin_home(request)


def patient_home(request: HttpRequest) -> HttpResponse:
    context = {
        "profile": patient_profile_for(user=request.user),
        "needs_consent": not consent_is_current(patient=request.user),
        "upcoming": upcoming_for_patient(patient=request.user),
        "measures_due": measure_requests_due(patient=request.user),
        "unread_messages": unread_count_for(user=request.user),
    }
    return render(request, "home/patient.html", context)


def clinician_home(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    licenses = License.objects.filter(clinician=request.user).select_related("region")
    return render(request, "home/clinician.html", {
        "today": today, "licenses": licenses,
        "todays_appointments": todays_appointments_for(clinician=request.user),
        "flagged_patients": flagged_patients_for_clinician(clinician=request.user),
        "waiting_patients": waiting_patients_for_clinician(clinician=request.user),
        "unread_messages": unread_count_for(user=request.user),
    })


def admin_home(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    context = {
        "pending_licenses": License.objects.filter(status=License.Status.PENDING).count(),
        "expiring_licenses": License.objects.filter(
            status=License.Status.VERIFIED,
            valid_until__gte=today,
            valid_until__lte=today + timedelta(days=30),
        ).select_related("clinician", "region"),
        "clinician_count": User.objects.filter(role=User.Role.CLINICIAN, is_active=True).count(),
        "patient_count": User.objects.filter(role=User.Role.PATIENT, is_active=True).count(),
        "crisis_unacknowledged": crisis_unacknowledged_count(),
    }
    return render(request, "home/admin.html", context)
