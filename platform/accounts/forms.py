"""Account settings forms."""

import zoneinfo

from django import forms


class TimeZoneForm(forms.Form):
    time_zone = forms.ChoiceField(
        choices=[(z, z) for z in sorted(zoneinfo.available_timezones()) if "/" in z or z == "UTC"]
    )


class TokenForm(forms.Form):
    name = forms.CharField(max_length=80, help_text="Where you will use it, e.g. “laptop”.")
