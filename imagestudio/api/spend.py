"""GET /api/v1/spend, and the 402 a budget refusal of any submit becomes (who pays is
services.charge, for the form and the API alike)."""

from __future__ import annotations

from datetime import UTC, date, timedelta
from typing import Any

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils import timezone

from imagestudio.api import messages, schemas
from imagestudio.api.auth import api_view
from imagestudio.api.contract import ApiError, Reply, invalid, operation, respond
from imagestudio.spend import reports
from imagestudio.spend.budgets import BudgetExceeded
from imagestudio.spend.money import decimal_str
from imagestudio.web import parsing

GROUP_BY = schemas.GROUP_BY


# --- every submit: team, override, refusal -----------------------------------------------
def budget_exceeded(exc: BudgetExceeded) -> ApiError:
    d: dict[str, Any] = exc.details
    return ApiError(
        402,
        "budget_exceeded",
        exc.message,
        scope=d.get("scope"),
        cap=decimal_str(d["cap"]),
        used=decimal_str(d["used"]),
        reserved=decimal_str(d["reserved"]),
        cost=decimal_str(d["cost"]),
        resets_on=d["resets_on"].isoformat(),
    )


# --- GET /spend ----------------------------------------------------------------------------
def _day(value: str | None, name: str, default: date, errors: dict[str, str]) -> date:
    if value is None:
        return default
    day = parsing.day_or_none(value)
    if day is None:
        errors[name] = messages.bad_day(name, value)
        return default
    return day


def _tokens(row: dict[str, Any]) -> schemas.SpendTokens | None:
    """A report row's summed usage (spend.reports), or None where no call of it was billed
    by tokens."""
    if not row["token_calls"] and not row["usage_missing_calls"]:
        return None
    return schemas.SpendTokens(
        calls=row["token_calls"],
        text_input_tokens=row["sum_text_tokens"],
        image_input_tokens=row["sum_image_tokens"],
        output_tokens=row["sum_output_tokens"],
        usage_missing_calls=row["usage_missing_calls"],
    )


def _key(value: object) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


@operation(
    "GET",
    "/spend",
    operation_id="getSpend",
    summary="Billed spend from the ledger over a range of UTC days (staff: everyone's; "
    "others: their own).",
    query=schemas.SpendQuery,
    responses={
        200: Reply("Totals, and one row per group.", schemas.SpendReport),
        400: Reply("A bad date, range or group_by.", schemas.Error),
    },
)
def get_spend(request: HttpRequest) -> HttpResponseBase:
    """Billed spend and call counts over [from, to] (inclusive UTC days, default this
    month), optionally grouped. Staff see everyone's attempts, others their own."""
    query = schemas.SpendQuery.model_validate(request.GET.dict())
    today = timezone.now().astimezone(UTC).date()
    errors: dict[str, str] = {}
    first = _day(query.from_, "from", today.replace(day=1), errors)
    last = _day(query.to, "to", today, errors)
    if not errors and last < first:
        errors["to"] = messages.to_before_from()
    if not errors and (last - first).days >= reports.MAX_DAYS:
        errors["to"] = messages.too_many_days(reports.MAX_DAYS)
    if query.group_by and query.group_by not in GROUP_BY:
        errors["group_by"] = messages.bad_group_by(list(GROUP_BY))
    if errors:
        raise invalid(errors)
    filters = reports.Filters(
        reports.day_start(first),
        reports.day_start(last) + timedelta(days=1),
        user=None if request.user.is_staff else request.user.pk,
    )
    totals = reports.totals(filters)
    groups = reports.breakdown(filters, query.group_by) if query.group_by else []
    return respond(
        schemas.SpendReport(
            from_=first.isoformat(),
            to=last.isoformat(),
            total_usd=decimal_str(totals["total"]),
            billed_calls=totals["billed_calls"],
            unbilled_calls=totals["unbilled_calls"],
            no_image_usd=decimal_str(totals["wasted"]),
            tokens=_tokens(totals),
            group_by=query.group_by or None,
            groups=[
                schemas.SpendGroup(
                    key=_key(row["key"]),
                    total_usd=decimal_str(row["total"]),
                    calls=row["calls"],
                    billed_calls=row["billed_calls"],
                    tokens=_tokens(row),
                )
                for row in groups
            ],
        )
    )


spend = api_view(get_spend)
