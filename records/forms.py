from django import forms
from django.utils.translation import gettext_lazy as _

from . import measures
from .models import NOTE_SECTIONS, AuditEvent, NoteKind


class NoteCreateForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind of note"), choices=NoteKind.choices)
    private = forms.BooleanField(
        label=_("Psychotherapy note (private: never shown to the patient)"), required=False
    )


class NoteEditForm(forms.Form):
    """One textarea per section of the note's kind."""

    private = forms.BooleanField(
        label=_("Psychotherapy note (private: never shown to the patient)"), required=False
    )

    def __init__(self, *args, kind: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kind
        for key, label in NOTE_SECTIONS[kind]:
            self.fields[f"section_{key}"] = forms.CharField(
                label=label, required=False, max_length=20000,
                widget=forms.Textarea(attrs={"rows": 5}),
            )
        # The checkbox reads best after the sections.
        self.order_fields([f"section_{k}" for k, _l in NOTE_SECTIONS[kind]] + ["private"])

    @staticmethod
    def initial_from(sections: list[tuple[str, str, str]], private: bool) -> dict:
        initial = {f"section_{key}": text for key, _label, text in sections}
        initial["private"] = private
        return initial

    def sections(self) -> dict[str, str]:
        return {key: self.cleaned_data.get(f"section_{key}", "") for key, _l in NOTE_SECTIONS[self.kind]}


class AddendumForm(forms.Form):
    text = forms.CharField(label=_("Addendum"), max_length=10000,
                           widget=forms.Textarea(attrs={"rows": 4}),
                           help_text=_("Signed with your name and the time when you save it. "
                                       "It cannot be changed afterwards."))


class BreakGlassForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for opening this record"), min_length=10, max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Access lasts one hour. The reason and every page you open are recorded, "
                    "and the treating psychiatrists are told."),
    )


class QuestionnaireForm(forms.Form):
    """The items of one instrument as radio groups, with the exact texts in the active language."""

    def __init__(self, *args, instrument: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.instrument = instrument
        language = measures.text_language()
        choices = [(value, texts[language]) for value, texts in measures.OPTIONS]
        for number, item in enumerate(measures.ITEMS[instrument], start=1):
            self.fields[f"item_{number}"] = forms.TypedChoiceField(
                label=f"{number}. {item[language]}", choices=choices, coerce=int,
                widget=forms.RadioSelect, error_messages={"required": _("Choose one answer.")},
            )
        self.fields["difficulty"] = forms.TypedChoiceField(
            label=measures.DIFFICULTY_QUESTION[language],
            choices=[(v, t[language]) for v, t in measures.DIFFICULTY_OPTIONS],
            coerce=int, required=False, empty_value=None, widget=forms.RadioSelect,
        )
        self.fields["comment"] = forms.CharField(
            label=_("Anything else you want your psychiatrist to know? (optional)"),
            required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}),
        )

    def answers(self) -> list[int]:
        return [self.cleaned_data[f"item_{n}"]
                for n in range(1, measures.item_count(self.instrument) + 1)]


class AuditFilterForm(forms.Form):
    actor = forms.CharField(label=_("Actor email contains"), required=False, max_length=254)
    patient = forms.IntegerField(label=_("Patient id"), required=False, min_value=1)
    action = forms.ChoiceField(label=_("Action"), required=False,
                               choices=[("", _("Any"))] + list(AuditEvent.Action.choices))
    object_type = forms.ChoiceField(
        label=_("Object"), required=False,
        choices=[("", _("Any")), ("chart", _("Chart")), ("note", _("Note")),
                 ("addendum", _("Addendum")), ("questionnaire", _("Questionnaire")),
                 ("measures", _("Questionnaire page")), ("export", _("Export")),
                 ("break_glass", _("Break-glass")), ("flag", _("Flag")),
                 ("access_log", _("Record access list"))],
    )
    break_glass = forms.BooleanField(label=_("Only break-glass"), required=False)
    since = forms.DateField(label=_("From"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("To"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}))
