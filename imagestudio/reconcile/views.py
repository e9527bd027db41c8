"""The staff page of the gateway's books: per day the gateway's total, the ledger's and
the difference, the calls behind every difference, unreadable rows, and the alert
threshold; the same rows as CSV (?format=csv)."""

from __future__ import annotations

from datetime import UTC, date, timedelta

from django.contrib import messages as flash
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from imagestudio.reconcile import alerts, books, messages
from imagestudio.reconcile.models import MalformedRow, Pull, Threshold
from imagestudio.spend import csvsafe, reports
from imagestudio.spend import messages as spend_messages
from imagestudio.spend.money import decimal_str, parse_usd
from imagestudio.web.access import staff_required
from imagestudio.web.htmx import HtmxHttpRequest
from imagestudio.web.parsing import day_or_none

MALFORMED_SHOWN = 20
_ = gettext_lazy
CSV_COLUMNS = {
    "kind": _("Kind"),
    "day": _("Day (UTC)"),
    "time_utc": _("Time (UTC)"),
    "model": _("Model"),
    "request_id": _("Request id"),
    "gateway_log_id": _("Gateway log id"),
    "gateway_usd": _("Gateway (USD)"),
    "ledger_usd": _("Ledger (USD)"),
    "difference_usd": _("Difference (USD)"),
    "generation": _("Image"),
}


def period(request: HtmxHttpRequest) -> tuple[date, date]:
    """?from= &to= (inclusive UTC days; default the last 7 days), at most reports.MAX_DAYS."""
    today = timezone.now().astimezone(UTC).date()
    last = day_or_none(request.GET.get("to")) or today
    first = day_or_none(request.GET.get("from")) or last - timedelta(days=6)
    if last < first:
        first, last = last, first
    if (last - first).days >= reports.MAX_DAYS:
        first = last - timedelta(days=reports.MAX_DAYS - 1)
    return first, last


def _status() -> dict[str, object]:
    """What the page says about the last reading of the log (flags for the template)."""
    run = books.last_pull()
    if run is None:
        return {"run": None, "problem": ""}
    problem = ""
    if run.outcome == Pull.Outcome.BAD_TOKEN:
        problem = messages.bad_token()
    elif run.outcome == Pull.Outcome.UNAVAILABLE:
        problem = messages.unavailable(f"{run.started_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC")
    return {"run": run, "problem": problem}


@require_GET
@staff_required(spend_messages.staff_only_pages)
def books_page(request: HtmxHttpRequest) -> HttpResponse | StreamingHttpResponse:
    if not books.configured():
        return render(
            request, "reconcile/books.html", {"configured": False, "off": messages.no_token()}
        )
    first, last = period(request)
    differences = books.differences(first, last)
    if request.GET.get("format") == "csv":
        return csvsafe.response(
            f"gateway-books-{first}-{last}.csv",
            [str(label) for label in CSV_COLUMNS.values()],
            (
                [
                    d.kind,
                    d.at.astimezone(UTC).date().isoformat(),
                    d.at.astimezone(UTC).isoformat(),
                    d.model,
                    d.request_id,
                    d.log_id or "",
                    decimal_str(d.gateway),
                    decimal_str(d.ledger),
                    decimal_str(d.gateway - d.ledger),
                    d.generation_id or "",
                ]
                for d in differences
            ),
        )
    days = books.days(first, last)
    alerted = alerts.alerted_days(first, last)
    context = {
        "configured": True,
        "first": first,
        "last": last,
        "days": [(d, d.day in alerted) for d in reversed(days)],
        "totals": {
            "gateway": sum((d.gateway for d in days), books.ZERO),
            "ledger": sum((d.ledger for d in days), books.ZERO),
        },
        "differences": differences,
        "kinds": messages.KINDS,
        "malformed": MalformedRow.objects.all()[:MALFORMED_SHOWN],
        "malformed_count": MalformedRow.objects.count(),
        "waiting": books.waiting_rows(),
        "threshold": Threshold.current().usd,
        **_status(),
    }
    return render(request, "reconcile/books.html", context)


@require_POST
@staff_required(spend_messages.staff_only_pages)
def set_threshold(request: HtmxHttpRequest) -> HttpResponse:
    amount = parse_usd(request.POST.get("threshold", "").strip())
    if amount is None:
        flash.error(request, messages.bad_threshold())
    else:
        row = Threshold.current()
        row.usd = amount
        row.save()
        flash.success(request, messages.threshold_saved(amount))
    return redirect("reconcile:books")
