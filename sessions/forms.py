from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.selectors import regions_all

from .models import callback_phone_validator


class LocationForm(forms.Form):
    region = forms.ModelChoiceField(
        queryset=None, label=_("Where are you right now?"),
        empty_label=_("Choose the region you are in"),
        help_text=_("Your psychiatrist must know where you are in case you need urgent help."),
    )
    address = forms.CharField(
        label=_("Address or place"), max_length=300,
        help_text=_("Street address, or a description of where you are."),
        widget=forms.TextInput(attrs={"autocomplete": "street-address"}),
    )
    callback_phone = forms.CharField(
        label=_("Phone number we can call you back on"), max_length=20,
        validators=[callback_phone_validator],
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].queryset = regions_all()


class WaitingMessageForm(forms.Form):
    text = forms.CharField(label=_("Message to the waiting patient"), max_length=200,
                           help_text=_("For example: “Running 5 minutes late.”"))


class AdmitForm(forms.Form):
    acknowledge_license = forms.BooleanField(
        required=False,
        label=_("I know I hold no valid license where the patient is today, and I will act "
                "on that (for example, reschedule or refer)."),
    )

    def __init__(self, *args, license_warning: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["acknowledge_license"].required = license_warning
