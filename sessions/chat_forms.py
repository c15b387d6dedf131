from django import forms
from django.utils.translation import gettext_lazy as _

from .chat_models import MESSAGE_MAX_CHARS


class MessageForm(forms.Form):
    """The no-JavaScript way to write. The page renders a fresh client id into the form, so a
    double submit (or a resubmit after a timeout) stores the message once."""

    body = forms.CharField(
        label=_("Your message"), max_length=MESSAGE_MAX_CHARS, strip=False,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": MESSAGE_MAX_CHARS}),
        help_text=_("Up to 4,000 characters. Messages are private between you two; in an "
                    "emergency use “Get help now” instead of writing."),
    )
    client_id = forms.RegexField(regex=r"^[A-Za-z0-9_-]{8,64}$", widget=forms.HiddenInput)
