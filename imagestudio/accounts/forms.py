from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from imagestudio.accounts.models import time_zones


def _zone_choices() -> list[tuple[str, str]]:
    default = _("The studio's default (%(zone)s)") % {"zone": settings.TIME_ZONE}
    return [("", default)] + [(z, z) for z in sorted(time_zones())]


class PreferenceForm(forms.Form):
    language = forms.ChoiceField(
        label=_("Language"),
        required=False,
        choices=[("", _("As my browser asks"))] + list(settings.LANGUAGES),
    )
    time_zone = forms.ChoiceField(label=_("Time zone"), required=False, choices=_zone_choices)
