"""Token-billed calls cost to a millionth of a dollar, and every spend figure keeps those
six places where they matter: the staff dashboard and its CSVs, a user's own page and CSV,
the monthly report and GET /api/v1/spend. Amounts that need only four places read as they
always did ("0.0300" in a CSV, "$0.03" on a page)."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from imagestudio import catalog
from tests.factories import bearer, make_attempt, make_token
from tests.test_spend_dashboard import DASHBOARD, body, parse_csv

pytestmark = pytest.mark.django_db
OFFICIAL = catalog.OFFICIAL
MINE = "/spend/mine/"


@pytest.fixture
def ledger(owner):
    """0.051234 + 0.000001 by tokens and 0.03 per call: 0.081235 in all."""
    for amount in ("0.051234", "0.000001"):
        make_attempt(
            owner,
            model=OFFICIAL,
            amount=amount,
            quality="high",
            text_tokens=10,
            image_tokens=0,
            output_tokens=1000,
        )
    make_attempt(owner, model=catalog.VIP, amount="0.03")


def row_of(html: str, table: str, key: str) -> str:
    rows = html.split(f'data-table="{table}"', 1)[1].split("</table>", 1)[0]
    return rows.split(f"<td>{key}</td>", 1)[1].split("</tr>", 1)[0]


def test_the_dashboard_shows_the_millionths_of_its_totals(admin_client_, ledger):
    html = body(admin_client_.get(DASHBOARD))
    assert "$0.081235" in html and "$0.0812<" not in html
    assert "$0.051235" in row_of(html, "by_model", OFFICIAL)
    assert "$0.03<" in row_of(html, "by_model", catalog.VIP)


def test_the_dashboards_csvs_keep_six_places_where_they_matter(admin_client_, ledger):
    by_model = parse_csv(admin_client_.get(DASHBOARD, {"format": "csv", "table": "by_model"}))
    totals = {r["key"]: r["total_usd"] for r in by_model}
    assert totals == {OFFICIAL: "0.051235", catalog.VIP: "0.0300"}
    (whole,) = parse_csv(admin_client_.get(DASHBOARD, {"format": "csv", "table": "totals"}))
    assert whole["total_usd"] == "0.081235"


def test_the_own_page_and_csv_keep_six_places(owner_client, ledger):
    html = body(owner_client.get(MINE))
    assert "This month: $0.081235 in 3 billed calls" in html
    assert "<td>$0.000001</td>" in html
    amounts = sorted(r["amount_usd"] for r in parse_csv(owner_client.get(MINE, {"format": "csv"})))
    assert amounts == ["0.000001", "0.0300", "0.051234"]


def test_the_monthly_report_keeps_six_places(ledger):
    text, table = io.StringIO(), io.StringIO()
    call_command("spend_report", stdout=text)
    assert "Total: $0.081235 in 3 billed calls" in text.getvalue()
    call_command("spend_report", "--format", "csv", stdout=table)
    assert ",0.051235," in table.getvalue() and ",0.0300," in table.getvalue()


def test_the_api_spend_keeps_six_places(client, owner, ledger):
    _, raw = make_token(owner)
    got = client.get("/api/v1/spend", headers=bearer(raw)).json()
    assert got["total_usd"] == "0.081235"
