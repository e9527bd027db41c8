"""Every sentence the audit log says to staff. Functions, so each is translated in the
reader's language when it is said."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


def staff_only() -> str:
    return _("The audit log is for staff.")


def bad_day(name: str, value: str) -> str:
    return _("%(name)s must be a date as YYYY-MM-DD (got %(value)s).") % {
        "name": name,
        "value": repr(value),
    }


def to_before_from() -> str:
    return _("to must not be before from.")


def unknown_object_type(choices: list[str]) -> str:
    return _("Unknown object_type. Use one of: %(choices)s.") % {"choices": ", ".join(choices)}


def system() -> str:
    return _("(the server)")


_OBJECT_TYPES = {
    "user": gettext_lazy("User"),
    "team": gettext_lazy("Team"),
    "membership": gettext_lazy("Team membership"),
    "budget": gettext_lazy("Budget"),
    "prefilter_category": gettext_lazy("Pre-filter category"),
    "prefilter_term": gettext_lazy("Pre-filter term"),
    "kit": gettext_lazy("Brand kit"),
    "api_token": gettext_lazy("API token"),
    "fallback_chain": gettext_lazy("Fallback chain"),
    "route_setting": gettext_lazy("Route setting"),
    "reconciliation_threshold": gettext_lazy("Reconciliation alert threshold"),
}


def object_type_label(object_type: str) -> str:
    return str(_OBJECT_TYPES.get(object_type, object_type))
