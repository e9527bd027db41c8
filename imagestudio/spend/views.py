"""Spend pages: the staff dashboard, the monthly soft-refusal report and a user's own
ledger. Every table is also a CSV (?format=csv), built from the same rows."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import F
from django.http import HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from imagestudio import catalog
from imagestudio.spend import csvsafe, messages, money, reports
from imagestudio.spend.models import Attempt, Team
from imagestudio.web import messages as web_messages
from imagestudio.web.access import staff_required
from imagestudio.web.htmx import HtmxHttpRequest
from imagestudio.web.parsing import day_or_none, id_or_none, month_or_none

# Below this a billed call that bought nothing was probably refused outright rather than
# timed out: the gateway's claim form asks for such calls to be pointed out.
SHORT_LATENCY_MS = 10_000
LEDGER_PAGE_SIZE = 50
REPORT_PAGE_SIZE = 200
# Each breakdown's name, as the dashboard says it (in the reader's language).
TABLES = {
    "user": gettext_lazy("User"),
    "team": gettext_lazy("Team"),
    "model": gettext_lazy("Model"),
    "size_tier": gettext_lazy("Size tier"),
    "day": gettext_lazy("Day"),
}
staff_only = staff_required(messages.staff_only_pages)
CHART_WIDTH, CHART_HEIGHT, CHART_PAD = 720, 200, 24


def _filters(request: HtmxHttpRequest, today: date) -> tuple[reports.Filters, dict]:
    """The range (?from= &to=, inclusive days, default this month, at most reports.MAX_DAYS as on
    the API) and the equality filters; invalid values are dropped, as they come from
    hand-edited URLs, and a shortened range says so."""
    first = day_or_none(request.GET.get("from")) or today.replace(day=1)
    last = day_or_none(request.GET.get("to")) or today
    if last < first:
        first, last = last, first
    note = ""
    if (last - first).days >= reports.MAX_DAYS:
        first = last - timedelta(days=reports.MAX_DAYS - 1)
        note = web_messages.range_shortened(reports.MAX_DAYS)
    model = request.GET.get("model", "")
    tier = request.GET.get("size_tier", "")
    filters = reports.Filters(
        reports.day_start(first),
        reports.day_start(last) + timedelta(days=1),
        user=id_or_none(request.GET.get("user")),
        team=id_or_none(request.GET.get("team")),
        model=model if model in catalog.MODELS else "",
        size_tier=tier if tier in catalog.TIERS else "",
    )
    chosen = {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "user": filters.user,
        "team": filters.team,
        "model": filters.model,
        "size_tier": filters.size_tier,
        "note": note,
    }
    return filters, chosen


def _csv(
    filename: str,
    columns: dict[str, Promise | None],
    rows: Iterable[list],
    key_label: Promise | str = "",
) -> StreamingHttpResponse:
    """Every spend export goes out through the one neutralising writer, its header in the
    reader's language (a column set's None is the grouping column: `key_label`). The
    columns' keys are the API's JSON names, kept for the code and its tests."""
    # Worded now, in the request's language: the body streams after the view returns.
    header = [str(key_label if label is None else label) for label in columns.values()]
    return csvsafe.response(filename, header, rows)


def _share(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


_ = gettext_lazy
BREAKDOWN_COLUMNS: dict[str, Promise | None] = {
    "key": None,
    "total_usd": _("Spend (USD)"),
    "calls": _("Calls"),
    "billed_calls": _("Billed calls"),
    "unbilled_calls": _("Calls not billed"),
    "images": _("Images"),
    "no_image_usd": _("Bought nothing (USD)"),
    "no_image_calls": _("Billed calls without an image"),
    "no_image_share": _("Share of spend without an image"),
    # Token-billed calls' usage, summed (empty where none was billed by tokens); last, so
    # spreadsheets built on the export keep their columns.
    "token_calls": _("Calls billed by tokens"),
    "text_tokens": _("Text input tokens"),
    "image_tokens": _("Image input tokens"),
    "output_tokens": _("Output tokens"),
    "usage_missing_calls": _("Billed without usage (top of the estimate)"),
}
LATENCY_COLUMNS: dict[str, Promise | None] = {
    "model": _("Model"),
    "calls": _("Calls"),
    "images": _("Images"),
    "success_rate": _("Success rate"),
    "median_ms": _("Median latency (ms)"),
    "p95_ms": _("95th percentile latency (ms)"),
}


def _ms(value: float | None) -> str:
    # An interpolated percentile is a float (1001.2999999999993): whole milliseconds.
    return "" if value is None else f"{value:.0f}"


def _breakdown_csv_row(row: dict) -> list:
    return [
        row["key"],
        money.ledger_str(row["total"]),
        row["calls"],
        row["billed_calls"],
        row["unbilled_calls"],
        row["images"],
        money.ledger_str(row["wasted"]),
        row["wasted_calls"],
        _share(row["wasted_share"]),
        *_token_cells(row),
    ]


def _token_cells(row: dict) -> list:
    if not row["token_calls"]:
        return ["", "", "", "", ""]
    return [
        row["token_calls"],
        row["sum_text_tokens"],
        row["sum_image_tokens"],
        row["sum_output_tokens"],
        row["usage_missing_calls"],
    ]


def chart(days: list[dict]) -> dict:
    """Bars for an inline SVG: geometry only, the colours come from the stylesheet (the
    CSP allows no inline styles)."""
    peak = max((d["total"] for d in days), default=Decimal("0")) or Decimal("1")
    inner_w, inner_h = CHART_WIDTH - 2 * CHART_PAD, CHART_HEIGHT - 2 * CHART_PAD
    step = inner_w / max(1, len(days))
    bars = []
    for i, d in enumerate(days):
        height = float(d["total"] / peak) * inner_h
        bars.append(
            {
                "x": round(CHART_PAD + i * step + step * 0.1, 1),
                "y": round(CHART_PAD + inner_h - height, 1),
                "width": round(max(1.0, step * 0.8), 1),
                "height": round(height, 1),
                "day": d["day"],
                "total": d["total"],
            }
        )
    return {
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "bars": bars,
        "peak": peak if any(d["total"] for d in days) else Decimal("0"),
        "baseline": CHART_PAD + inner_h,
        "left": CHART_PAD,
        "right": CHART_WIDTH - CHART_PAD,
        "label_y": CHART_HEIGHT - 6,
        "first": days[0]["day"] if days else None,
        "last": days[-1]["day"] if days else None,
    }


@require_GET
@staff_only
def dashboard(request: HtmxHttpRequest) -> HttpResponseBase:
    today = timezone.now().astimezone(UTC).date()
    filters, chosen = _filters(request, today)
    table = request.GET.get("table", "")
    if request.GET.get("format") == "csv":
        return _dashboard_csv(filters, chosen, table)
    # Every user and team: the filter lists, and the names for the tables (the ledger
    # itself is too big to DISTINCT).
    users = list(get_user_model().objects.order_by("username").values("id", "username"))
    teams = list(Team.objects.values("id", "name"))
    tables = reports.cube(
        filters,
        {u["id"]: u["username"] for u in users},
        {t["id"]: t["name"] for t in teams},
    )
    context: dict[str, Any] = {
        "chosen": chosen,
        "headline": reports.headline(filters, today),
        "totals": reports.summed(tables["model"]),
        "tables": {**tables, "day": reports.breakdown(filters, "day")},
        "latency": reports.latency_by_model(filters),
        "users": users,
        "teams": teams,
        "models": list(catalog.MODELS),
        "tiers": list(catalog.TIERS),
        "none_key": reports.NONE,
    }
    context["chart"] = chart(reports.daily(filters, context["tables"]["day"]))
    return render(request, "spend/dashboard.html", context)


def _dashboard_csv(filters: reports.Filters, chosen: dict, table: str) -> HttpResponseBase:
    stamp = f"{chosen['from']}_{chosen['to']}"
    if table.removeprefix("by_") in TABLES:
        group = table.removeprefix("by_")
        rows = reports.breakdown(filters, group)
        return _csv(
            f"spend-by-{group}-{stamp}.csv",
            BREAKDOWN_COLUMNS,
            map(_breakdown_csv_row, rows),
            key_label=TABLES[group],
        )
    if table == "latency":
        rows = reports.latency_by_model(filters)
        return _csv(
            f"spend-latency-{stamp}.csv",
            LATENCY_COLUMNS,
            (
                [
                    r["model"],
                    r["calls"],
                    r["images"],
                    _share(r["success_rate"]),
                    _ms(r["median"]),
                    _ms(r["p95"]),
                ]
                for r in rows
            ),
        )
    if table in ("", "totals"):
        t = reports.totals(filters)
        return _csv(
            f"spend-totals-{stamp}.csv",
            BREAKDOWN_COLUMNS,
            [_breakdown_csv_row({**t, "key": f"{chosen['from']}..{chosen['to']}"})],
            key_label=_("Dates"),
        )
    return HttpResponse(
        f"Unknown table {table!r}: use by_user, by_team, by_model, by_size_tier, by_day, "
        "latency or totals.",
        status=400,
        content_type="text/plain",
    )


def _month(value: str | None, today: date) -> tuple[int, int]:
    moment = month_or_none(value) or today
    return moment.year, moment.month


REPORT_COLUMNS: dict[str, Promise | None] = {
    "time_utc": _("Time (UTC)"),
    "user": _("User"),
    "team": _("Team"),
    "model": _("Model"),
    "endpoint": _("Endpoint"),
    "outcome": _("Outcome"),
    "http_status": _("HTTP status"),
    "amount_usd": _("Amount (USD)"),
    "latency_ms": _("Latency (ms)"),
    "short_latency": _("Short latency"),
    "request_id": _("Request id"),
    "prompt": _("Prompt"),
    # The gateway's own id of the call (its Log Query API, read by reconcile): what its
    # credit claim form asks for. Last, so the older columns keep their places.
    "gateway_log_id": _("Gateway log id"),
}


def _report_row(a: Attempt) -> list:
    return [
        a.created_at.astimezone(UTC).isoformat(),
        a.user.username,
        a.team.name if a.team else "",
        a.model,
        a.endpoint,
        a.outcome,
        a.http_status or "",
        money.ledger_str(a.amount),
        a.latency_ms,
        "yes" if a.latency_ms < SHORT_LATENCY_MS else "",
        a.request_id,
        a.generation.prompt if a.generation else "",
        getattr(a, "gateway_log_id", None) or "",  # annotated by soft_refusals()
    ]


@require_GET
@staff_only
def soft_refusals(request: HtmxHttpRequest) -> HttpResponseBase:
    """Every billed call of a calendar month that produced no image: what the gateway
    asks for to claim a credit."""
    today = timezone.now().astimezone(UTC).date()
    year, month = _month(request.GET.get("month"), today)
    start, end = reports.month_bounds(year, month)
    filters = reports.Filters(start, end)
    rows = reports.wasted_calls(filters).annotate(gateway_log_id=F("gateway_log_row__log_id"))
    label = f"{year:04d}-{month:02d}"
    if request.GET.get("format") == "csv":
        return _csv(f"soft-refusals-{label}.csv", REPORT_COLUMNS, map(_report_row, rows.iterator()))
    totals = reports.totals(filters)
    page = Paginator(rows, REPORT_PAGE_SIZE).get_page(request.GET.get("page"))
    previous = (start - timedelta(days=1)).strftime("%Y-%m")
    following = end.strftime("%Y-%m")
    return render(
        request,
        "spend/soft_refusals.html",
        {
            "month": label,
            "month_start": start,
            "totals": totals,
            "page": page,
            "short_ms": SHORT_LATENCY_MS,
            "short_s": SHORT_LATENCY_MS // 1000,
            "previous": previous,
            "following": following,
        },
    )


LEDGER_COLUMNS: dict[str, Promise | None] = {
    "time_utc": _("Time (UTC)"),
    "generation": _("Image"),
    "team": _("Team"),
    "model": _("Model"),
    "endpoint": _("Endpoint"),
    "size_sent": _("Size sent"),
    "http_status": _("HTTP status"),
    "outcome": _("Outcome"),
    "billed": _("Billed"),
    "amount_usd": _("Amount (USD)"),
    "latency_ms": _("Latency (ms)"),
    "request_id": _("Request id"),
    # The ledger keeps a deleted image's rows: this says which and when (the page says
    # "(deleted)") and leaves the image column a plain id. Last, so the columns that were
    # there keep their places in spreadsheets built on the export.
    "image_deleted_utc": _("Image deleted (UTC)"),
    # A token route's call: its quality and the usage it was billed for (empty for a
    # per-call route); after the columns that were there, for the same reason.
    "quality": _("Quality"),
    "text_tokens": _("Text input tokens"),
    "image_tokens": _("Image input tokens"),
    "output_tokens": _("Output tokens"),
    "usage_missing": _("Billed without usage (top of the estimate)"),
}


def _ledger_row(a: Attempt) -> list:
    deleted_at = getattr(a, "image_deleted_at", None)  # annotated by mine(), same query
    return [
        a.created_at.astimezone(UTC).isoformat(),
        a.generation_id or "",
        a.team.name if a.team else "",
        a.model,
        a.endpoint,
        a.size_sent,
        a.http_status or "",
        a.outcome,
        "yes" if a.billed else "",
        money.ledger_str(a.amount),
        a.latency_ms,
        a.request_id,
        deleted_at.astimezone(UTC).isoformat() if deleted_at else "",
        a.quality,
        "" if a.text_tokens is None else a.text_tokens,
        "" if a.image_tokens is None else a.image_tokens,
        "" if a.output_tokens is None else a.output_tokens,
        "yes" if a.usage_missing else "",
    ]


@require_GET
@login_required
def mine(request: HtmxHttpRequest) -> HttpResponseBase:
    """The signed-in user's own ledger rows, newest first (all of them as ?format=csv)."""
    rows = (
        Attempt.objects.filter(user=request.user)
        .select_related("team")
        # In the same query: a deleted image's row says so instead of linking to a 404.
        .annotate(image_deleted_at=F("generation__deleted_at"))
        .order_by("-created_at", "-id")
    )
    if request.GET.get("format") == "csv":
        stamp = timezone.now().astimezone(UTC).date().isoformat()
        return _csv(f"my-spend-{stamp}.csv", LEDGER_COLUMNS, map(_ledger_row, rows.iterator()))
    page = Paginator(rows, LEDGER_PAGE_SIZE).get_page(request.GET.get("page"))
    today = timezone.now().astimezone(UTC).date()
    month = reports.totals(
        reports.Filters(
            reports.day_start(today.replace(day=1)),
            reports.day_start(today) + timedelta(days=1),
            user=request.user.pk,
        )
    )
    return render(request, "spend/mine.html", {"page": page, "month": month})
