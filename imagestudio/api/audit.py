"""GET /api/v1/audit: the audit log for staff, filtered as its page filters it
(audit.queries), newest first, 100 a page."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.urls import reverse

from imagestudio.api import messages, schemas
from imagestudio.api.access import require_staff
from imagestudio.api.auth import api_view
from imagestudio.api.contract import Reply, invalid, operation, respond
from imagestudio.audit import queries
from imagestudio.audit.models import AuditEntry
from imagestudio.web import cursor

PAGE_SIZE = schemas.AUDIT_PAGE_SIZE
FILTERS = ("from", "to", "actor", "object_type")


def entry(row: AuditEntry) -> schemas.AuditEntry:
    return schemas.AuditEntry(
        id=row.pk,
        at=row.created_at.isoformat(),
        actor=row.actor_name or None,
        via=row.via,
        address=row.address,
        action=row.action,
        object_type=row.object_type,
        object_id=row.object_id,
        object=row.object_repr,
        before=row.before,
        after=row.after,
    )


@operation(
    "GET",
    "/audit",
    operation_id="listAudit",
    summary="Staff: every change to users, teams, memberships, budgets, pre-filter terms "
    "and categories, kits and API tokens, newest first, 100 a page.",
    query=schemas.AuditQuery,
    responses={
        200: Reply("A page of audit entries.", schemas.AuditPage),
        400: Reply("A bad date, range, object_type or cursor.", schemas.Error),
        403: Reply("forbidden: the caller is not staff.", schemas.Error),
    },
)
def list_audit(request: HttpRequest) -> HttpResponseBase:
    require_staff(request)
    params = request.GET.dict()
    filters, errors = queries.parse(params)
    rows = queries.entries(filters)
    position = None
    if params.get("cursor"):
        position = cursor.decode(params["cursor"])
        if position is None:
            errors["cursor"] = messages.bad_cursor()
    if errors:
        raise invalid(errors, (*FILTERS, "cursor"))
    if position is not None:
        rows = cursor.after(rows, position)
    found = list(rows[: PAGE_SIZE + 1])
    page, more = found[:PAGE_SIZE], len(found) > PAGE_SIZE
    next_url = None
    if more:
        kept = {k: params[k] for k in FILTERS if params.get(k)}
        kept["cursor"] = cursor.encode(page[-1])
        next_url = request.build_absolute_uri(f"{reverse('api:audit')}?{urlencode(kept)}")
    return respond(schemas.AuditPage(results=[entry(r) for r in page], next=next_url))


audit = api_view(list_audit)
