from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from imagestudio.accounts.models import time_zones
from imagestudio.spend.models import Budget, Team
from imagestudio.spend.money import parse_usd


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
    visible_label = forms.BooleanField(
        label=_("Put “AI生成” / “AI-generated” on the images I download"),
        required=False,
        help_text=_(
            "Every download already carries the machine-readable AI label in its metadata; "
            "this adds the visible one in a corner. The original file stays as it was."
        ),
    )


class NewUserForm(forms.Form):
    """A person to add; the rules (accounts.provisioning) check the values."""

    username = forms.CharField(label=_("User name"), max_length=150)
    email = forms.CharField(label=_("E-mail address"), required=False, max_length=254)
    password = forms.CharField(
        label=_("Password"),
        required=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("Leave empty to invite them: they choose one, or use company sign-in."),
    )
    is_staff = forms.BooleanField(label=_("Staff"), required=False)
    invite = forms.BooleanField(
        label=_("Send an invitation by e-mail"), required=False, initial=True
    )


def _active_users() -> Any:
    return get_user_model().objects.filter(is_active=True).order_by("username")


class BudgetForm(forms.Form):
    scope = forms.ChoiceField(label=_("For"), choices=Budget.Scope.choices)
    team = forms.ModelChoiceField(
        label=_("Team"),
        queryset=Team.objects.order_by("name"),
        required=False,
        empty_label=_("Choose a team (for a team's budget)"),
    )
    user = forms.ModelChoiceField(
        label=_("User"),
        queryset=_active_users(),
        required=False,
        empty_label=_("Choose a user (for a user's budget)"),
    )
    monthly_usd = forms.CharField(label=_("US dollars a month"), max_length=12)
    alert_at = forms.CharField(
        label=_("Warn at (share of the budget)"),
        required=False,
        initial="0.80",
        max_length=6,
        help_text=_("0.80 warns its people when 80 % is spent; they are told again at 100 %."),
    )

    def clean_monthly_usd(self) -> Decimal:
        amount = parse_usd(self.cleaned_data["monthly_usd"].strip())
        if amount is None:
            raise forms.ValidationError(_("Dollars such as 250 or 99.50."))
        return amount
