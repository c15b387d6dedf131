from datetime import UTC, datetime

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext_lazy as _

from .models import AvailabilityException, SchedulingSettings, Weekday


class TimeInput(forms.TimeInput):
    input_type = "time"


class DateInput(forms.DateInput):
    input_type = "date"


class AvailabilityRuleForm(forms.Form):
    prefix = "rule"
    weekday = forms.TypedChoiceField(label=_("Day of the week"), choices=Weekday.choices, coerce=int)
    start_time = forms.TimeField(label=_("From"), widget=TimeInput(format="%H:%M"))
    end_time = forms.TimeField(label=_("Until"), widget=TimeInput(format="%H:%M"))

    def clean(self):
        data = super().clean()
        if data.get("start_time") and data.get("end_time") and data["end_time"] <= data["start_time"]:
            self.add_error("end_time", _("The end time must be after the start time."))
        return data


class AvailabilityExceptionForm(forms.Form):
    prefix = "exception"
    kind = forms.ChoiceField(label=_("Kind"), choices=AvailabilityException.Kind.choices)
    start_date = forms.DateField(label=_("First day"), widget=DateInput)
    end_date = forms.DateField(label=_("Last day (time off only)"), widget=DateInput, required=False)
    start_time = forms.TimeField(label=_("From (extra hours only)"), widget=TimeInput(format="%H:%M"), required=False)
    end_time = forms.TimeField(label=_("Until (extra hours only)"), widget=TimeInput(format="%H:%M"), required=False)
    note = forms.CharField(label=_("Private note"), max_length=200, required=False)

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        if kind == AvailabilityException.Kind.TIME_OFF:
            if data.get("end_date") and data.get("start_date") and data["end_date"] < data["start_date"]:
                self.add_error("end_date", _("The last day must be on or after the first day."))
        elif kind == AvailabilityException.Kind.EXTRA_HOURS:
            if not data.get("start_time"):
                self.add_error("start_time", _("Extra hours need a start time."))
            if not data.get("end_time"):
                self.add_error("end_time", _("Extra hours need an end time."))
            elif data.get("start_time") and data["end_time"] <= data["start_time"]:
                self.add_error("end_time", _("The end time must be after the start time."))
        return data


class SchedulingSettingsForm(forms.ModelForm):
    class Meta:
        model = SchedulingSettings
        fields = ["appointment_minutes", "buffer_minutes", "min_notice_hours", "horizon_days"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        limits = {
            "appointment_minutes": (10, 240), "buffer_minutes": (0, 120),
            "min_notice_hours": (0, 720), "horizon_days": (1, 365),
        }
        for name, (low, high) in limits.items():
            self.fields[name].validators += [MinValueValidator(low), MaxValueValidator(high)]
            self.fields[name].widget.attrs.update(min=low, max=high)


class CancelForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 3}),
    )


class SlotChoiceForm(forms.Form):
    """A slot as sent by the slot links and buttons: its start in Unix seconds (UTC)."""

    start = forms.IntegerField(min_value=0, max_value=4_102_444_800)  # before 2100

    def clean_start(self) -> datetime:
        return datetime.fromtimestamp(self.cleaned_data["start"], UTC)


class AdminFilterForm(forms.Form):
    region = forms.ChoiceField(label=_("Region"), required=False)
    status = forms.ChoiceField(label=_("Status"), required=False)

    def __init__(self, *args, regions, statuses, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = [("", _("All regions"))] + [(r.code, r.name) for r in regions]
        self.fields["status"].choices = [("", _("All statuses"))] + list(statuses)
