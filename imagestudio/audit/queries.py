"""The one way the page and the API pick audit rows: a range of UTC days, an actor (their
user name) and an object type, newest first."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.db import models
from django.db.models import QuerySet

from imagestudio.audit import messages, signals
from imagestudio.audit.models import AuditEntry
from imagestudio.web.parsing import day_or_none


@dataclass(frozen=True)
class Filters:
    first: date | None = None
    last: date | None = None
    actor: str = ""
    object_type: str = ""


def parse_day(value: str) -> date | None:
    """ASCII digits only, and a day whose next day exists (9999-12-31 has none)."""
    return day_or_none(value)


def parse(params: dict[str, str]) -> tuple[Filters, dict[str, str]]:
    """The filters from query parameters, and an error per bad one (by parameter)."""
    errors: dict[str, str] = {}
    days: dict[str, date | None] = {}
    for name in ("from", "to"):
        raw = params.get(name, "") or ""
        days[name] = parse_day(raw) if raw else None
        if raw and days[name] is None:
            errors[name] = messages.bad_day(name, raw)
    first, last = days["from"], days["to"]
    if first and last and last < first:
        errors["to"] = messages.to_before_from()
    object_type = params.get("object_type", "") or ""
    types = signals.object_types()
    if object_type and object_type not in types:
        errors["object_type"] = messages.unknown_object_type(list(types))
    actor = (params.get("actor", "") or "").strip()
    return Filters(first, last, actor, object_type), errors


def _start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def entries(filters: Filters) -> QuerySet[AuditEntry]:
    rows = AuditEntry.objects.order_by("-created_at", "-id")
    if filters.first:
        rows = rows.filter(created_at__gte=_start(filters.first))
    if filters.last and filters.last < date.max:
        rows = rows.filter(created_at__lt=_start(filters.last) + timedelta(days=1))
    if filters.actor:
        rows = rows.filter(actor_name=filters.actor)
    if filters.object_type:
        rows = rows.filter(object_type=filters.object_type)
    return rows


CSV_HEADER = [
    "time_utc",
    "actor",
    "via",
    "address",
    "action",
    "object_type",
    "object_id",
    "object",
    "before",
    "after",
]


def csv_row(entry: AuditEntry) -> list[object]:
    return [
        entry.created_at.astimezone(UTC).isoformat(),
        entry.actor_name,
        entry.via,
        entry.address or "",
        entry.action,
        entry.object_type,
        entry.object_id,
        entry.object_repr,
        json.dumps(entry.before, ensure_ascii=False, sort_keys=True),
        json.dumps(entry.after, ensure_ascii=False, sort_keys=True),
    ]


def related_names(entries: Iterable[AuditEntry]) -> messages.Names:
    """The names of the rows the entries' fields point at (a budget's team, a kit's
    maker), one query per kind of row, so a page of entries costs a few queries, not one
    per field. A row deleted since is missing: its id is shown."""
    wanted: dict[type[models.Model], set[str]] = defaultdict(set)
    for entry in entries:
        model = signals.model_of(entry.object_type)
        if model is None:
            continue
        for side in (entry.before, entry.after):
            for name, value in side.items():
                related = messages.related_model(model, name)
                if related is not None and value is not None:
                    wanted[related].add(str(value))
    names: messages.Names = {}
    for model, ids in wanted.items():
        label = model._meta.label_lower
        for row in model._base_manager.filter(pk__in=[i for i in ids if i.isdigit()]):
            get_username = getattr(row, "get_username", None)
            names[(label, str(row.pk))] = get_username() if get_username else str(row)
    return names
