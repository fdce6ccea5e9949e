"""Account forms: settings, API tokens and sign-up."""

import zoneinfo

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm, UsernameField


class TimeZoneForm(forms.Form):
    time_zone = forms.ChoiceField(
        choices=[(z, z) for z in sorted(zoneinfo.available_timezones()) if "/" in z or z == "UTC"]
    )


class TokenForm(forms.Form):
    name = forms.CharField(max_length=80, help_text="Where you will use it, e.g. “laptop”.")


class SignupForm(UserCreationForm):
    """A new account: a username, an email for password resets, and a password typed
    twice, checked by AUTH_PASSWORD_VALIDATORS."""

    email = forms.EmailField(
        max_length=254, help_text="Used only to reset your password if you forget it."
    )

    class Meta:
        model = get_user_model()
        fields = ("username", "email")
        field_classes = {"username": UsernameField}

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")  # labels read as the log-in page's do
        super().__init__(*args, **kwargs)

    def clean_email(self) -> str:
        email = get_user_model().objects.normalize_email(self.cleaned_data["email"])
        # One account per address, so that a reset link reaches the right account.
        if get_user_model().objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(
                "An account already uses this email address. Log in, or reset its password."
            )
        return email
