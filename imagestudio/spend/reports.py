"""Figures from the ledger: one set of functions for the dashboard, the CSV exports, the
monthly report command and the spend API, so they can never disagree.

Every function is a constant number of aggregate queries, whatever the ledger's size:
grouping happens in SQL (values().annotate()), never by looping over rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import (
    Aggregate,
    Count,
    DecimalField,
    FloatField,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, TruncDate

from imagestudio.spend.models import Attempt
from imagestudio.upstream.types import Outcome

ZERO = Decimal("0")
# The longest range a page or the API reports on (the page for from=0001-01-01 took a
# minute and 80 MB).
MAX_DAYS = 366
# The ledger's own precision: a token-billed call costs to a millionth of a dollar, so
# sums keep all six places (pages and CSVs show them where they matter: spend.money).
MICRO = Decimal("0.000001")
MONEY = DecimalField(max_digits=16, decimal_places=6)
# "Bought nothing": billed, yet no image came of it (soft refusals, timeouts, unreadable
# bytes, failed downloads). An attempt that produced an image never gets retried, so every
# billed attempt followed by a retry is in here too.
WASTED = Q(billed=True) & ~Q(outcome=Outcome.IMAGE)
# A group's key where the ledger has no value (no team; no size tier): kept as it is in the
# API and the CSVs, worded in the reader's language on the page.
NONE = "(none)"
GROUPS = {
    "user": "user__username",
    "team": "team__name",
    "model": "model",
    "size_tier": "size_tier",
    "day": "day",
}


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=UTC)
    return start, end


@dataclass
class Filters:
    """A half-open UTC time range [start, end) and optional equality filters."""

    start: datetime
    end: datetime
    user: int | None = None
    team: int | None = None
    model: str = ""
    size_tier: str = ""
    extra: dict = field(default_factory=dict)

    def apply(self, qs: QuerySet[Attempt]) -> QuerySet[Attempt]:
        qs = qs.filter(created_at__gte=self.start, created_at__lt=self.end, **self.extra)
        if self.user is not None:
            qs = qs.filter(user_id=self.user)
        if self.team is not None:
            qs = qs.filter(team_id=self.team)
        if self.model:
            qs = qs.filter(model=self.model)
        if self.size_tier:
            qs = qs.filter(size_tier=self.size_tier)
        return qs

    def without_range(self) -> Filters:
        """The same filters over all time (the caller narrows the time itself)."""
        return Filters(
            datetime(1970, 1, 1, tzinfo=UTC),
            datetime(9999, 1, 1, tzinfo=UTC),
            self.user,
            self.team,
            self.model,
            self.size_tier,
            self.extra,
        )


def _sum(condition: Q | None = None) -> Coalesce:
    return Coalesce(Sum("amount", filter=condition), Value(ZERO), output_field=MONEY)


# The usage of token-billed calls, summed (zero where no call was billed by tokens:
# `token_calls` says whether there are any).
# Named apart from the ledger's own columns (an annotation may not shadow a field).
TOKENS = {"sum_text_tokens": "text_tokens", "sum_image_tokens": "image_tokens"}
TOKENS["sum_output_tokens"] = "output_tokens"


def _tokens(column: str, condition: Q) -> Coalesce:
    return Coalesce(Sum(column, filter=condition), Value(0))


def _figures(within: Q | None = None, prefix: str = "") -> dict:
    """The aggregates every table shows; `within` narrows them (one scan, several
    ranges), `prefix` keeps their names apart."""
    w = within if within is not None else Q()
    return {
        **{f"{prefix}{name}": _tokens(column, w) for name, column in TOKENS.items()},
        f"{prefix}token_calls": Count("id", filter=w & Q(output_tokens__isnull=False)),
        f"{prefix}usage_missing_calls": Count("id", filter=w & Q(usage_missing=True)),
        f"{prefix}total": _sum(w & Q(billed=True)),
        f"{prefix}calls": Count("id", filter=w) if within is not None else Count("id"),
        f"{prefix}billed_calls": Count("id", filter=w & Q(billed=True)),
        f"{prefix}unbilled_calls": Count("id", filter=w & Q(billed=False)),
        f"{prefix}images": Count("id", filter=w & Q(outcome=Outcome.IMAGE)),
        f"{prefix}wasted": _sum(w & WASTED),
        f"{prefix}wasted_calls": Count("id", filter=w & WASTED),
    }


def _with_shares(row: dict) -> dict:
    # SQLite sums decimals as floats-turned-text: cut back to the column's 6 places.
    for name in ("total", "wasted"):
        row[name] = Decimal(row[name]).quantize(MICRO)
    total, calls = row["total"], row["calls"]
    row["wasted_share"] = float(row["wasted"] / total) if total else None
    row["success_rate"] = row["images"] / calls if calls else None
    return row


def totals(filters: Filters) -> dict:
    """Spend, calls billed / not billed, and what bought nothing, over the range."""
    return _with_shares(filters.apply(Attempt.objects.all()).aggregate(**_figures()))


def headline(filters: Filters, today: date) -> dict:
    """Today / last 7 days / this month (UTC), under the same filters, in one query."""
    return overview(filters, today, with_range=False)[0]


def overview(filters: Filters, today: date, *, with_range: bool = True) -> tuple[dict, dict]:
    """(headline, totals of the chosen range): one scan when the range lies within the
    headline's window (the usual month view), two otherwise."""
    starts = {
        "today": day_start(today),
        "week": day_start(today - timedelta(days=6)),
        "month": day_start(today.replace(day=1)),
    }
    window = (min(starts.values()), day_start(today) + timedelta(days=1))
    qs = filters.without_range().apply(Attempt.objects.all())
    qs = qs.filter(created_at__gte=window[0], created_at__lt=window[1])
    aggregates: dict[str, Any] = {}
    for name, start in starts.items():
        since = Q(created_at__gte=start)
        aggregates[f"{name}_total"] = _sum(since & Q(billed=True))
        aggregates[f"{name}_calls"] = Count("id", filter=since)
    inside = window[0] <= filters.start and filters.end <= window[1]
    if not with_range:
        inside = True
    elif inside:
        in_range = Q(created_at__gte=filters.start, created_at__lt=filters.end)
        aggregates.update(_figures(in_range, prefix="range_"))
    row = qs.aggregate(**aggregates)
    head = {name: {"total": row[f"{name}_total"], "calls": row[f"{name}_calls"]} for name in starts}
    if not with_range:
        return head, {}
    if not inside:
        return head, totals(filters)
    return head, _with_shares(
        {k.removeprefix("range_"): v for k, v in row.items() if k.startswith("range_")}
    )


def breakdown(filters: Filters, group: str) -> list[dict]:
    """One row per user / team / model / size tier / day, biggest spend first (days in
    date order)."""
    key = GROUPS[group]
    qs = filters.apply(Attempt.objects.all())
    if group == "day":
        qs = qs.annotate(day=TruncDate("created_at", tzinfo=UTC))
    ordering = [key] if group == "day" else ["-total", key]
    result = []
    for row in qs.values(key).annotate(**_figures()).order_by(*ordering):
        value = row.pop(key)
        row["key"] = NONE if value in (None, "") else value
        result.append(_with_shares(row))
    return result


CUBE = {"user": "user_id", "team": "team_id", "size_tier": "size_tier", "model": "model"}
_COUNTS = (
    "calls",
    "billed_calls",
    "unbilled_calls",
    "images",
    "wasted_calls",
    *TOKENS,
    "token_calls",
    "usage_missing_calls",
)
_SUMS = ("total", "wasted")


def cube(filters: Filters, user_names: dict, team_names: dict) -> dict[str, list[dict]]:
    """The user, team, size tier and model breakdowns from one grouped query.

    The ledger grouped by all four at once has at most users × tiers × models rows
    (a user's attempts are mostly charged to one team), whatever the number of attempts;
    they are summed per dimension here. One scan of the range instead of four: the
    dashboard's month view at a million rows. (Days stay a query of their own: with them
    in the key PostgreSQL cannot tell how few groups there are and sorts on disk.)"""
    qs = filters.apply(Attempt.objects.all())
    grouped = qs.values(*CUBE.values()).annotate(**_figures()).order_by()
    slots: dict[str, dict] = {group: {} for group in CUBE}
    for row in grouped:
        for group in slots:
            value = row[CUBE[group]]
            if group == "user":
                value = user_names.get(value, f"user {value}")
            elif group == "team" and value is not None:
                value = team_names.get(value, f"team {value}")
            slot = slots[group].get(value)
            if slot is None:
                slot = slots[group][value] = {**dict.fromkeys(_COUNTS, 0)}
                slot.update(dict.fromkeys(_SUMS, ZERO))
            for name in _COUNTS:
                slot[name] += row[name]
            for name in _SUMS:
                slot[name] += Decimal(row[name])
    result = {}
    for group, by_value in slots.items():
        rows = []
        for value, slot in by_value.items():
            slot["key"] = NONE if value in (None, "") else value
            rows.append(_with_shares(slot))
        rows.sort(key=lambda r: (-r["total"], str(r["key"])))
        result[group] = rows
    return result


def summed(rows: list[dict]) -> dict:
    """The totals of a breakdown's rows (every attempt is in exactly one row)."""
    total = {**dict.fromkeys(_COUNTS, 0), **dict.fromkeys(_SUMS, ZERO)}
    for row in rows:
        for name in (*_COUNTS, *_SUMS):
            total[name] += row[name]
    return _with_shares(total)


def daily(filters: Filters, rows: list[dict] | None = None) -> list[dict]:
    """Every day of the range, zero where nothing happened (for the chart). `rows` is
    breakdown(filters, "day") when the caller already has it."""
    if rows is None:
        rows = breakdown(filters, "day")
    by_day = {row["key"]: row for row in rows}
    days, day = [], filters.start.date()
    last = (filters.end - timedelta(microseconds=1)).date()
    while day <= last:
        days.append({"day": day, "total": by_day.get(day, {}).get("total", ZERO)})
        day += timedelta(days=1)
    return days


class PercentileCont(Aggregate):
    """PostgreSQL's ordered-set aggregate, e.g. the median latency."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, fraction: float, **extra) -> None:
        super().__init__(expression, fraction=float(fraction), **extra)


def _offset_percentile(qs: QuerySet[Attempt], n: int, fraction: float) -> float | None:
    """percentile_cont's answer (linear between the two nearest ranks) with one ordered
    OFFSET query, for databases without it (SQLite)."""
    if not n:
        return None
    position = fraction * (n - 1)
    index = int(position)
    values = list(qs.order_by("latency_ms").values_list("latency_ms", flat=True)[index : index + 2])
    if not values:
        return None
    if len(values) == 1:
        return float(values[0])
    return values[0] + (values[1] - values[0]) * (position - index)


def latency_by_model(filters: Filters) -> list[dict]:
    """The by-model breakdown plus median / p95 latency: one query on PostgreSQL, one
    plus two per model (there are two) elsewhere."""
    qs = filters.apply(Attempt.objects.all())
    figures = _figures()
    postgres = connection.vendor == "postgresql"
    if postgres:
        figures["median"] = PercentileCont("latency_ms", 0.5)
        figures["p95"] = PercentileCont("latency_ms", 0.95)
    rows: list[dict[str, Any]] = [
        dict(row) for row in qs.values("model").annotate(**figures).order_by("model")
    ]
    for row in rows:
        if not postgres:
            of_model = qs.filter(model=row["model"])
            row["median"] = _offset_percentile(of_model, row["calls"], 0.5)
            row["p95"] = _offset_percentile(of_model, row["calls"], 0.95)
        row["key"] = row["model"]
        _with_shares(row)
    return rows


def wasted_calls(filters: Filters) -> QuerySet[Attempt]:
    """The soft-refusal report's rows: every billed call that produced no image."""
    return (
        filters.apply(Attempt.objects.filter(WASTED))
        .select_related("user", "team", "generation")
        .only(
            "created_at",
            "model",
            "endpoint",
            "outcome",
            "amount",
            "latency_ms",
            "request_id",
            "http_status",
            "size_sent",
            "user__username",
            "team__name",
            "generation__prompt",
        )
        .order_by("created_at", "id")
    )
