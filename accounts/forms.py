from django import forms
from django.contrib.auth.password_validation import validate_password
from django.utils.translation import gettext_lazy as _

from .models import Invitation, Language, PatientProfile, Region, User
from .services import PatientDetails, patient_profile_create
from .validators import time_zone_choices


class RegionChoiceField(forms.ModelChoiceField):
    """Regions chosen by their code; an unknown code is a form error, not a 500."""

    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", Region.objects.order_by("country", "name"))
        kwargs.setdefault("to_field_name", "code")
        kwargs.setdefault(
            "error_messages",
            {"invalid_choice": _("Choose one of the regions in the list.")},
        )
        super().__init__(**kwargs)


class PatientSignupForm(forms.Form):
    """Extra fields on allauth's sign-up form; sign-up is for patients only."""

    first_name = forms.CharField(label=_("First name"), max_length=80)
    last_name = forms.CharField(label=_("Last name"), max_length=80)
    home_region = RegionChoiceField(
        label=_("Where do you live?"), empty_label=_("Choose your region")
    )
    preferred_language = forms.ChoiceField(label=_("Preferred language"), choices=Language.choices)

    def signup(self, request, user: User) -> None:
        patient_profile_create(
            user=user,
            details=PatientDetails(
                first_name=self.cleaned_data["first_name"],
                last_name=self.cleaned_data["last_name"],
                home_region=self.cleaned_data["home_region"],
                preferred_language=self.cleaned_data["preferred_language"],
            ),
        )


class PatientProfileForm(forms.ModelForm):
    home_region = RegionChoiceField(label=_("Home region"))
    time_zone = forms.ChoiceField(label=_("Time zone"), choices=time_zone_choices)
    date_of_birth = forms.DateField(
        label=_("Date of birth"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    class Meta:
        model = PatientProfile
        fields = [
            "home_region", "time_zone", "preferred_language", "phone", "date_of_birth",
            "emergency_contact_name", "emergency_contact_phone",
        ]
        labels = {
            "preferred_language": _("Preferred language"),
            "phone": _("Phone"),
            "emergency_contact_name": _("Emergency contact name"),
            "emergency_contact_phone": _("Emergency contact phone"),
        }


class ConsentForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    accept = forms.BooleanField(
        label=_("I have read and accept this telehealth consent."),
        error_messages={"required": _("Tick the box to accept the consent before continuing.")},
    )

    def __init__(self, *args, current_version: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.current_version = current_version

    def clean_version(self) -> int:
        version = self.cleaned_data["version"]
        if version != self.current_version:
            raise forms.ValidationError(
                _("The consent text has changed since you opened it. Please read the new version.")
            )
        return version


class InvitationForm(forms.Form):
    email = forms.EmailField(label=_("Email address"), max_length=254)
    role = forms.ChoiceField(label=_("Role"), choices=Invitation._meta.get_field("role").choices)


class InvitationAcceptForm(forms.Form):
    first_name = forms.CharField(label=_("First name"), max_length=80)
    last_name = forms.CharField(label=_("Last name"), max_length=80)
    display_name = forms.CharField(
        label=_("Name shown to patients"), max_length=120, required=False,
        help_text=_("For example: Dr Tran Thi Mai"),
    )
    time_zone = forms.ChoiceField(label=_("Your time zone"), choices=time_zone_choices, initial="UTC")
    password1 = forms.CharField(label=_("Password"), widget=forms.PasswordInput, max_length=128)
    password2 = forms.CharField(label=_("Password (again)"), widget=forms.PasswordInput, max_length=128)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("password1") and cleaned.get("password1") != cleaned.get("password2"):
            self.add_error("password2", _("The two passwords differ."))
        elif cleaned.get("password1"):
            try:
                validate_password(cleaned["password1"])
            except forms.ValidationError as exc:
                self.add_error("password1", exc)
        return cleaned
