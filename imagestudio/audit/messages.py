"""Every sentence the audit log says to staff. Functions, so each is translated in the
reader's language when it is said."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from imagestudio import catalog
from imagestudio.spend import messages as spend_messages
from imagestudio.spend import money

if TYPE_CHECKING:
    from imagestudio.audit.models import AuditEntry

# Related rows' names by (model label, id as text), read for a page at once.
Names = dict[tuple[str, str], str]


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


# --- one change, as a reader reads it ---------------------------------------------------
# The rows keep raw values (ids, enums, "0.80", true, the password's markers) so the CSV
# and the API stay exact; the page says them here, in the language of whoever reads it.

PASSWORD = "password"
MONEY = frozenset(
    {
        "monthly_cap",
        "price_per_image",
        "text_input_per_million",
        "image_input_per_million",
        "image_output_per_million",
        "usd",
    }
)
SHARES = frozenset({"alert_at", "min_success_rate"})
SECONDS = frozenset({"timeout_seconds", "cool_down_s"})


@dataclass(frozen=True)
class Change:
    """One field of an entry: its label and the value before and after (None: that side
    is not part of the entry, as the "before" of something created)."""

    label: str
    before: str | None
    after: str | None

    def __str__(self) -> str:
        if self.before is not None and self.after is not None:
            value = f"{self.before} → {self.after}"
        else:
            value = self.after if self.after is not None else self.before or ""
        return _("%(label)s: %(value)s") % {"label": self.label, "value": value}


def _yes_no(value: bool) -> str:
    return _("yes") if value else _("no")


def _password(value: Any) -> str:
    # The rows hold markers, never a hash: "(set)"/"(none)" on a new or deleted user.
    return _("set") if value == "(set)" else _("not set")


def value_text(field: models.Field | None, name: str, value: Any, names: Names) -> str:
    """A stored value in words: an empty one as "—", yes/no, a choice's label, money as
    money, a share as a percentage, a related row by its name (or its id if gone)."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return _yes_no(value)
    if field is not None and field.is_relation and field.related_model is not None:
        name_of = names.get((field.related_model._meta.label_lower, str(value)))
        return name_of if name_of is not None else _("#%(id)s (deleted)") % {"id": value}
    if field is not None and field.choices:
        labels = {str(key): label for key, label in field.flatchoices}
        return str(labels.get(str(value), value))
    if name == "preset" and value in catalog.PRESETS_BY_KEY:
        return _(catalog.PRESETS_BY_KEY[value].label)
    if name == "size" and value in catalog.ALL_PHRASINGS_BY_VALUE:
        return str(catalog.ALL_PHRASINGS_BY_VALUE[value].label)
    if name in MONEY:
        return money.usd(Decimal(str(value)))
    if name in SHARES:
        return f"{Decimal(str(value)) * 100:.0f} %"
    if name in SECONDS:
        return _("%(seconds)s s") % {"seconds": value}
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


def _field(model: type[models.Model] | None, name: str) -> models.Field | None:
    if model is None:
        return None
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    return field if isinstance(field, models.Field) else None


def related_model(model: type[models.Model] | None, name: str) -> type[models.Model] | None:
    """The model a tracked field points at (a budget's team), or None for a plain value."""
    field = _field(model, name)
    if field is None or not field.is_relation or field.related_model is None:
        return None
    return field.related_model


def field_label(model: type[models.Model] | None, name: str) -> str:
    field = _field(model, name)
    return capfirst(str(field.verbose_name)) if field is not None else name


def changes(entry: AuditEntry, model: type[models.Model] | None, names: Names) -> list[Change]:
    """Each field the entry names, in the reader's language. A password is only ever
    "changed" (or set / not set on a new or deleted user): no value, old or new."""
    fields = list(dict.fromkeys([*entry.before, *entry.after]))
    said = []
    for name in fields:
        label = field_label(model, name)
        before, after = (
            [
                _text(model, name, side[name], names) if name in side else None
                for side in (entry.before, entry.after)
            ]
            if name != PASSWORD
            else _password_sides(entry.before, entry.after)
        )
        said.append(Change(label, before, after))
    return said


def _password_sides(before: dict[str, Any], after: dict[str, Any]) -> list[str | None]:
    if PASSWORD in before and PASSWORD in after:
        return [None, _("changed")]
    return [_password(before[PASSWORD]) if PASSWORD in before else None] + [
        _password(after[PASSWORD]) if PASSWORD in after else None
    ]


def _text(model: type[models.Model] | None, name: str, value: Any, names: Names) -> str:
    return value_text(_field(model, name), name, value, names)


def _dollars(text: str) -> Decimal:
    return Decimal(text.replace(",", ""))


# The names the models give their rows (stored with each entry, in English) for the types
# whose name is a sentence: said again in the reader's language.
_BUDGET = re.compile(
    r"(?:team (?P<team>.*)|user (?P<user>.*)|the studio): \$(?P<cap>[0-9.,]+)/month"
)
_MEMBERSHIP = re.compile(r"(?P<user>.+?) in (?P<team>.+)")
_THRESHOLD = re.compile(r"reconciliation alert above \$(?P<usd>[0-9.,]+)")


def object_name(object_type: str, stored: str) -> str:
    """The entry's object as the reader reads it; a name that is not a sentence (a user
    name, a team's, a term) as it was stored."""
    if object_type == "budget" and (match := _BUDGET.fullmatch(stored)):
        scope = (
            "team"
            if match["team"] is not None
            else "user"
            if match["user"] is not None
            else "global"
        )
        name = match["team"] or match["user"] or ""
        return spend_messages.budget_name(scope, name, _dollars(match["cap"]))
    if object_type == "membership" and (match := _MEMBERSHIP.fullmatch(stored)):
        return _("%(user)s in %(team)s") % {"user": match["user"], "team": match["team"]}
    if object_type == "reconciliation_threshold" and (match := _THRESHOLD.fullmatch(stored)):
        return _("above %(usd)s") % {"usd": money.usd(_dollars(match["usd"]))}
    return stored


def entry_name(entry: AuditEntry) -> str:
    """An entry in one line, as the admin lists it: when, who, what they did to what."""
    return _("%(when)s %(who)s: %(action)s %(type)s %(name)s") % {
        "when": f"{entry.created_at:%Y-%m-%d %H:%M}",
        "who": entry.actor_name or system(),
        "action": entry.get_action_display(),
        "type": object_type_label(entry.object_type),
        "name": object_name(entry.object_type, entry.object_repr),
    }
