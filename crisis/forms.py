from django import forms
from django.utils.translation import gettext_lazy as _


class AcknowledgeForm(forms.Form):
    note = forms.CharField(
        label=_("Follow-up so far (optional)"), required=False, max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What you did or will do, e.g. 'Called the patient, safe with family.'"),
    )


class FollowUpForm(forms.Form):
    note = forms.CharField(
        label=_("Follow-up"), max_length=4000, widget=forms.Textarea(attrs={"rows": 5}),
    )
    close = forms.BooleanField(
        label=_("Close this event: the follow-up is complete"), required=False,
    )
