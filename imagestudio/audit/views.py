"""The staff page of the audit log, with its filters and its CSV (?format=csv)."""

from __future__ import annotations

from datetime import UTC

from django.core.paginator import Paginator
from django.http.response import HttpResponseBase
from django.utils import timezone
from django.views.decorators.http import require_GET

from imagestudio.audit import messages, queries, signals
from imagestudio.spend import csvsafe
from imagestudio.web.access import staff_required
from imagestudio.web.htmx import HtmxHttpRequest, page_or_part

PAGE_SIZE = 100


@require_GET
@staff_required(messages.staff_only)
def log(request: HtmxHttpRequest) -> HttpResponseBase:
    # A hand-edited bad value is dropped (and said), as on the spend pages.
    filters, errors = queries.parse(request.GET.dict())
    if errors:
        filters = queries.Filters(
            None if "from" in errors else filters.first,
            None if "to" in errors else filters.last,
            filters.actor,
            "" if "object_type" in errors else filters.object_type,
        )
    rows = queries.entries(filters)
    if request.GET.get("format") == "csv":
        stamp = timezone.now().astimezone(UTC).date().isoformat()
        return csvsafe.response(
            f"audit-{stamp}.csv", queries.CSV_HEADER, map(queries.csv_row, rows.iterator())
        )
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    types = signals.object_types()
    names = queries.related_names(page)
    for entry in page:
        entry.type_label = types.get(entry.object_type, entry.object_type)  # type: ignore[attr-defined]
        entry.name = messages.object_name(entry.object_type, entry.object_repr)  # type: ignore[attr-defined]
        entry.said = messages.changes(entry, signals.model_of(entry.object_type), names)  # type: ignore[attr-defined]
    context = {
        "page": page,
        "filters": filters,
        "errors": errors.values(),
        "object_types": types,
    }
    return page_or_part(request, "audit/log.html", context, "entries")
