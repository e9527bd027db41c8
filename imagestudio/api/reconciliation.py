"""GET /api/v1/reconciliation: the gateway's books beside the ledger's, for staff; the
page's figures (imagestudio.reconcile.books) as JSON."""

from __future__ import annotations

from datetime import UTC, timedelta

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils import timezone

from imagestudio.api import messages, schemas
from imagestudio.api.access import require_staff
from imagestudio.api.auth import api_view
from imagestudio.api.contract import ApiError, Reply, invalid, operation, respond
from imagestudio.api.spend import _day
from imagestudio.reconcile import books
from imagestudio.reconcile import messages as reconcile_messages
from imagestudio.spend import reports
from imagestudio.spend.money import decimal_str


@operation(
    "GET",
    "/reconciliation",
    operation_id="getReconciliation",
    summary="Staff: per UTC day the gateway's billed total (from its own log), the "
    "ledger's and the difference, and every call behind a difference.",
    query=schemas.ReconciliationQuery,
    responses={
        200: Reply("The days and the differences.", schemas.Reconciliation),
        400: Reply("A bad date or range.", schemas.Error),
        403: Reply("forbidden: the caller is not staff.", schemas.Error),
        409: Reply("not_configured: no gateway system token is set.", schemas.Error),
    },
)
def get_reconciliation(request: HttpRequest) -> HttpResponseBase:
    require_staff(request)
    query = schemas.ReconciliationQuery.model_validate(request.GET.dict())
    today = timezone.now().astimezone(UTC).date()
    errors: dict[str, str] = {}
    last = _day(query.to, "to", today, errors)
    first = _day(query.from_, "from", last - timedelta(days=6), errors)
    if not errors and last < first:
        errors["to"] = messages.to_before_from()
    if not errors and (last - first).days >= reports.MAX_DAYS:
        errors["to"] = messages.too_many_days(reports.MAX_DAYS)
    if errors:
        raise invalid(errors, ("from", "to"))
    if not books.configured():
        raise ApiError(409, "not_configured", reconcile_messages.no_token())
    return respond(
        schemas.Reconciliation(
            days=[
                schemas.ReconciliationDay(
                    day=d.day.isoformat(),
                    gateway_usd=decimal_str(d.gateway),
                    ledger_usd=decimal_str(d.ledger),
                    difference_usd=decimal_str(d.difference),
                )
                for d in books.days(first, last)
            ],
            differences=[
                schemas.ReconciliationDifference(
                    kind=d.kind,
                    request_id=d.request_id,
                    gateway_usd=decimal_str(d.gateway),
                    ledger_usd=decimal_str(d.ledger),
                    generation=d.generation_id,
                )
                for d in books.differences(first, last)
            ],
        )
    )


reconciliation = api_view(get_reconciliation)
