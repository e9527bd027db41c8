"""The staff spend dashboard, its CSV exports and the monthly soft-refusal report."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from imagestudio import catalog
from imagestudio.routing import health
from imagestudio.spend import reports
from imagestudio.spend import views as spend_views
from imagestudio.spend.models import Attempt
from imagestudio.upstream.types import BILLED_OUTCOMES
from tests.factories import make_attempt, make_generation, make_team

pytestmark = pytest.mark.django_db
P = Decimal("0.03")
DASHBOARD = "/spend/"
REPORT = "/spend/soft-refusals/"


def attempt(user, outcome="image", *, latency=30_000, request_id="req", **fields):
    # The gateway answers a timeout with nothing, a billed outcome with 200, the rest 5xx.
    billed = outcome in BILLED_OUTCOMES
    status = None if outcome == "timeout" else 200 if billed else 500
    return make_attempt(
        user, outcome, latency=latency, request_id=request_id, http_status=status, **fields
    )


def body(response) -> str:
    return response.content.decode()


COLUMN_SETS = (
    spend_views.BREAKDOWN_COLUMNS,
    spend_views.LATENCY_COLUMNS,
    spend_views.REPORT_COLUMNS,
    spend_views.LEDGER_COLUMNS,
)


def _matches(header: list[str], columns: dict) -> bool:
    labels = list(columns.values())
    return len(header) == len(labels) and all(
        label is None or cell == str(label) for cell, label in zip(header, labels, strict=True)
    )


def parse_csv(response) -> list[dict]:
    """Rows keyed by the API's names: the header is worded for people (test_csv_exports)."""
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode()
    reader = csv.reader(io.StringIO(text))
    header = next(reader)
    columns = next(c for c in COLUMN_SETS if _matches(header, c))
    return [dict(zip(columns, row, strict=True)) for row in reader]


# --- access -------------------------------------------------------------------------------
@pytest.mark.parametrize("url", [DASHBOARD, REPORT])
def test_staff_only(client, owner, url):
    assert client.get(url).status_code == 302  # to the login page
    client.force_login(owner)
    assert client.get(url).status_code == 403


@pytest.mark.parametrize("url", [DASHBOARD, REPORT, "/spend/mine/"])
def test_get_only(admin_client_, url):
    assert admin_client_.post(url).status_code == 405


def test_nav_link_for_staff_only(client, owner, admin_user):
    client.force_login(owner)
    assert 'href="/spend/"' not in body(client.get("/"))
    client.force_login(admin_user)
    assert 'href="/spend/"' in body(client.get("/"))


# --- figures ------------------------------------------------------------------------------
def test_totals_breakdowns_and_wasted_share(admin_client_, owner, other_user):
    team = make_team("Design")
    attempt(owner, "image", team=team)
    attempt(owner, "soft_refusal", team=team, latency=4_000)
    attempt(owner, "timeout", model=catalog.ALL)
    attempt(other_user, "saturated")
    attempt(other_user, "image", tier="4k")
    response = admin_client_.get(DASHBOARD)
    assert response.status_code == 200
    html = body(response)
    assert '<dd data-total="range">$0.12</dd>' in html
    assert "5 (4 billed, 1 not billed)" in html
    assert "$0.06 in 2 billed calls" in html and "50.0 %" in html
    assert '<p class="spend-card__total" data-total="today">$0.12</p>' in html
    assert "<svg" in html and 'class="chart__bar"' in html
    assert "style=" not in html  # the CSP forbids inline styles
    by_user = reports.breakdown(reports.Filters(*_this_month()), "user")
    assert [(r["key"], r["total"], r["calls"]) for r in by_user] == [
        ("owner", Decimal("0.09"), 3),
        ("other", Decimal("0.03"), 2),
    ]


def _this_month():
    today = timezone.now().astimezone(UTC).date()
    return reports.day_start(today.replace(day=1)), reports.day_start(today) + timedelta(days=1)


def test_headline_periods(admin_client_, owner):
    now = timezone.now()
    attempt(owner, when=now)
    attempt(owner, when=now - timedelta(days=3))
    attempt(owner, when=now - timedelta(days=40))
    headline = reports.headline(reports.Filters(*_this_month()), now.astimezone(UTC).date())
    assert headline["today"]["total"] == P
    assert headline["week"]["total"] == 2 * P
    month_start = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    assert headline["month"]["total"] == (2 * P if now - timedelta(days=3) >= month_start else P)


def test_filters_and_range(admin_client_, owner, other_user):
    attempt(owner, model=catalog.ALL)
    attempt(other_user, model=catalog.VIP)
    attempt(owner, when=datetime(2026, 1, 15, 12, tzinfo=UTC))
    html = body(admin_client_.get(DASHBOARD, {"user": owner.pk}))
    assert '<dd data-total="range">$0.03</dd>' in html
    html = body(admin_client_.get(DASHBOARD, {"model": catalog.VIP}))
    assert '<dd data-total="range">$0.03</dd>' in html
    html = body(admin_client_.get(DASHBOARD, {"from": "2026-01-01", "to": "2026-01-31"}))
    assert '<dd data-total="range">$0.03</dd>' in html
    # nonsense is dropped, not an error
    assert admin_client_.get(DASHBOARD, {"user": "x", "from": "nope"}).status_code == 200


def test_latency_per_model(owner):
    for ms in (1_000, 2_000, 3_000, 4_000, 100_000):
        attempt(owner, latency=ms)
    attempt(owner, "saturated", model=catalog.ALL, latency=500)
    rows = {r["model"]: r for r in reports.latency_by_model(reports.Filters(*_this_month()))}
    assert rows[catalog.VIP]["median"] == 3_000
    assert rows[catalog.VIP]["p95"] == pytest.approx(80_800)  # percentile_cont's answer
    assert rows[catalog.VIP]["success_rate"] == 1.0
    assert rows[catalog.ALL]["success_rate"] == 0.0


def test_query_count_does_not_grow_with_rows(admin_client_, owner, other_user):
    team = make_team("Design")

    def add(n):
        for i in range(n):
            attempt(
                owner if i % 2 else other_user,
                ["image", "soft_refusal", "saturated", "timeout"][i % 4],
                model=list(catalog.MODELS)[i % 2],
                tier=["1k", "2k", "4k"][i % 3],
                team=team if i % 3 else None,
                when=timezone.now() - timedelta(days=i % 20),
            )

    def count(**params):
        # The route-health panel reads the ledger once per 15 s (cached): count it each time.
        health.forget()
        with CaptureQueriesContext(connection) as ctx:
            response = admin_client_.get(DASHBOARD, params)
            if params.get("format") == "csv":
                b"".join(response.streaming_content)
        assert response.status_code == 200
        return len(ctx.captured_queries)

    add(10)
    small = (count(), count(format="csv", table="by_day"), _report_count(admin_client_))
    add(190)
    large = (count(), count(format="csv", table="by_day"), _report_count(admin_client_))
    assert small == large


def _report_count(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(REPORT).status_code == 200
    return len(ctx.captured_queries)


# --- CSV ----------------------------------------------------------------------------------
@pytest.mark.parametrize("table", ["by_user", "by_team", "by_model", "by_size_tier", "by_day"])
def test_csv_round_trip(admin_client_, owner, other_user, table):
    team = make_team("Design")
    attempt(owner, team=team)
    attempt(owner, "soft_refusal", tier="4k")
    attempt(other_user, "saturated", model=catalog.ALL)
    attempt(other_user, "timeout", model=catalog.ALL, team=team)
    rows = parse_csv(admin_client_.get(DASHBOARD, {"format": "csv", "table": table}))
    assert sum(Decimal(r["total_usd"]) for r in rows) == Decimal("0.09")
    assert sum(int(r["calls"]) for r in rows) == 4
    assert sum(int(r["unbilled_calls"]) for r in rows) == 1
    assert sum(Decimal(r["no_image_usd"]) for r in rows) == Decimal("0.06")
    html = body(admin_client_.get(DASHBOARD))
    assert f"table={table}" in html


def test_csv_respects_filters_and_rejects_unknown_tables(admin_client_, owner, other_user):
    attempt(owner)
    attempt(other_user)
    rows = parse_csv(
        admin_client_.get(DASHBOARD, {"format": "csv", "table": "by_user", "user": owner.pk})
    )
    assert [(r["key"], r["total_usd"]) for r in rows] == [("owner", "0.0300")]
    assert admin_client_.get(DASHBOARD, {"format": "csv", "table": "nope"}).status_code == 400
    latency = parse_csv(admin_client_.get(DASHBOARD, {"format": "csv", "table": "latency"}))
    assert latency[0]["model"] == catalog.VIP and latency[0]["calls"] == "2"


# --- the soft-refusal report --------------------------------------------------------------
def test_soft_refusal_report(admin_client_, owner):
    generation = make_generation(owner, prompt="a castle at dusk")
    november = datetime(2026, 11, 5, 10, tzinfo=UTC)
    attempt(
        owner,
        "soft_refusal",
        generation=generation,
        latency=3_000,
        request_id="r-short",
        when=november,
    )
    attempt(owner, "timeout", latency=300_000, request_id="r-long", when=november)
    attempt(owner, "image", when=november)  # bought an image: not in the report
    attempt(owner, "saturated", when=november)  # not billed: not in the report
    attempt(owner, "soft_refusal", when=datetime(2026, 10, 31, 23, 59, tzinfo=UTC))
    generation_gone = Attempt.objects.get(request_id="r-long")
    assert generation_gone.generation_id is None  # a deleted image still shows

    html = body(admin_client_.get(REPORT, {"month": "2026-11"}))
    assert "Total: $0.06 in 2 calls" in html
    assert "a castle at dusk" in html and "r-short" in html and "r-long" in html
    assert html.count('class="row--short"') == 1
    rows = parse_csv(admin_client_.get(REPORT, {"month": "2026-11", "format": "csv"}))
    assert [(r["request_id"], r["short_latency"], r["amount_usd"]) for r in rows] == [
        ("r-short", "yes", "0.0300"),
        ("r-long", "", "0.0300"),
    ]
    assert rows[0]["prompt"] == "a castle at dusk" and rows[0]["user"] == "owner"
    october = parse_csv(admin_client_.get(REPORT, {"month": "2026-10", "format": "csv"}))
    assert len(october) == 1


# --- the user's own page ------------------------------------------------------------------
def test_mine_lists_only_my_rows(owner_client, owner, other_user):
    attempt(owner, request_id="mine-1")
    attempt(other_user, request_id="theirs-1")
    html = body(owner_client.get("/spend/mine/"))
    assert "mine-1" in html and "theirs-1" not in html
    assert "This month: $0.03 in 1 billed call" in html
    assert reverse("spend:mine") == "/spend/mine/"


def test_the_one_query_cube_agrees_with_each_breakdown(owner, other_user):
    team = make_team("Design")
    now = timezone.now()
    for i, outcome in enumerate(["image", "soft_refusal", "saturated", "timeout", "image"] * 3):
        attempt(
            owner if i % 2 else other_user,
            outcome,
            model=list(catalog.MODELS)[i % 2],
            tier=["1k", "2k", "4k"][i % 3],
            team=team if i % 4 else None,
            when=now - timedelta(days=i % 3),
        )
    filters = reports.Filters(*_this_month())
    filters.start = reports.day_start((now - timedelta(days=5)).astimezone(UTC).date())
    names = {owner.pk: "owner", other_user.pk: "other"}
    cube = reports.cube(filters, names, {team.pk: "Design"})
    for group in ("user", "team", "model", "size_tier"):
        assert cube[group] == reports.breakdown(filters, group), group
    assert reports.summed(cube["model"]) == reports.totals(filters)


def test_calls_without_a_team_are_said_in_the_readers_language_and_kept_raw_in_the_csv(
    admin_client_, owner
):
    attempt(owner)  # no team

    page = body(admin_client_.get(DASHBOARD, headers={"Accept-Language": "zh-hans"}))
    rows = parse_csv(admin_client_.get(DASHBOARD, {"format": "csv", "table": "by_team"}))

    assert "（无）" in page and "(none)" not in page
    assert [row["key"] for row in rows] == [reports.NONE]
