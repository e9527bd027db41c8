"""GET /api/v1/spend, and the budget parts of POST /generations: the team a batch is
charged to, the staff override, and the 402 a refusal becomes."""

from __future__ import annotations

from datetime import UTC, date, timedelta
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from imagestudio.api.auth import api_view
from imagestudio.api.serializers import api_json, json_error, money
from imagestudio.spend import charging, reports
from imagestudio.spend.budgets import BudgetExceeded

GROUP_BY = ("user", "team", "model", "day")
# A year of days is plenty for a report, and keeps a typo like 0001-01-01 cheap.
MAX_DAYS = 366


# --- POST /generations: team, override, refusal --------------------------------------------
def charge(
    user: Any,
    body: dict[str, Any],
    errors: dict[str, str],
    *,
    parent_team_id: int | None = None,
    form_fields: bool = False,
) -> tuple[Any, bool]:
    """The team the request is charged to and whether it overrides the budgets, from the
    body's `team` and `override_budget` (spend.charging decides); a bad value adds an
    error for its field. A turn passes its parent's team (a team-mate's turn goes there)."""
    team, override = None, False
    requested = body.get("team")
    if isinstance(requested, str) and not form_fields:
        requested = -1  # JSON names a team by its number; "3" is refused like a stranger's
    try:
        team = charging.charged_team(user, requested, parent_team_id=parent_team_id)
    except charging.ChargeRefused as exc:
        errors[exc.field] = exc.message
    try:
        override = charging.override_allowed(user, body.get("override_budget", False))
    except charging.ChargeRefused as exc:
        errors[exc.field] = exc.message
    return team, override


def budget_exceeded(exc: BudgetExceeded) -> HttpResponse:
    d = exc.details
    return json_error(
        402,
        "budget_exceeded",
        exc.message,
        scope=d.get("scope"),
        cap=money(d["cap"]),
        used=money(d["used"]),
        reserved=money(d["reserved"]),
        cost=money(d["cost"]),
        resets_on=d["resets_on"].isoformat(),
    )


# --- GET /spend ----------------------------------------------------------------------------
def _day(request: HttpRequest, name: str, default: date) -> date | str:
    value = request.GET.get(name)
    if value is None:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        return f"{name} must be a date as YYYY-MM-DD (got {value!r})."


def _key(group: str, value: object) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


@api_view("GET")
def spend(request: HttpRequest) -> HttpResponse:
    """Billed spend and call counts over [from, to] (inclusive UTC days, default this
    month), optionally grouped. Staff see everyone's attempts, others their own."""
    today = timezone.now().astimezone(UTC).date()
    first = _day(request, "from", today.replace(day=1))
    last = _day(request, "to", today)
    group = request.GET.get("group_by", "")
    errors = {
        name: value for name, value in (("from", first), ("to", last)) if isinstance(value, str)
    }
    if not errors and last < first:
        errors["to"] = "to must not be before from."
    if not errors and (last - first).days >= MAX_DAYS:
        errors["to"] = f"Ask for at most {MAX_DAYS} days at a time."
    if group and group not in GROUP_BY:
        errors["group_by"] = f"group_by must be one of: {', '.join(GROUP_BY)}."
    if errors:
        field = next(iter(errors))
        return json_error(400, "invalid", errors[field], field=field, fields=errors)
    filters = reports.Filters(
        reports.day_start(first),
        reports.day_start(last) + timedelta(days=1),
        user=None if request.user.is_staff else request.user.pk,
    )
    totals = reports.totals(filters)
    groups = reports.breakdown(filters, group) if group else []
    return api_json(
        {
            "from": first.isoformat(),
            "to": last.isoformat(),
            "total_usd": money(totals["total"]),
            "billed_calls": totals["billed_calls"],
            "unbilled_calls": totals["unbilled_calls"],
            "no_image_usd": money(totals["wasted"]),
            "group_by": group or None,
            "groups": [
                {
                    "key": _key(group, row["key"]),
                    "total_usd": money(row["total"]),
                    "calls": row["calls"],
                    "billed_calls": row["billed_calls"],
                }
                for row in groups
            ],
        }
    )
