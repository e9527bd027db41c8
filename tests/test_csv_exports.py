"""Exports that cannot attack a spreadsheet: every CSV neutralises a cell that starts with
`=`, `+`, `-`, `@`, a tab or a carriage return by prefixing `'`, export by export, read back
with the csv module as a spreadsheet would read it. Numbers the code writes stay numbers."""

from __future__ import annotations

import ast
import csv
import io
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse

from imagestudio.spend import csvsafe
from imagestudio.spend import views as spend_views
from tests.factories import (
    make_attempt,
    make_finished,
    make_generation,
    make_team,
    make_user,
)

pytestmark = pytest.mark.django_db

HOSTILE = ['=HYPERLINK("http://x")', "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]
WHEN = datetime(2026, 11, 5, 10, tzinfo=UTC)
MONTH = {"from": "2026-11-01", "to": "2026-11-30"}
PACKAGE = Path(__file__).resolve().parent.parent / "imagestudio"


def read(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def downloaded(response, columns: dict) -> list[dict]:
    """The rows keyed by the API's names (the columns' keys), after checking the header is
    the columns' human labels (a None label is the grouping column, named per table)."""
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    reader = csv.reader(io.StringIO(b"".join(response.streaming_content).decode(), newline=""))
    header = next(reader)
    assert len(header) == len(columns)
    for cell, label in zip(header, columns.values(), strict=True):
        if label is not None:
            assert cell == str(label)
    return [dict(zip(columns, row, strict=True)) for row in reader]


TABLE_COLUMNS = {
    "latency": spend_views.LATENCY_COLUMNS,
}


def neutralised(value: str) -> str:
    return "'" + value


@pytest.fixture
def hostile_rows(db):
    """One user and one team per hostile name, each with a soft refusal (billed, no
    image) on a generation whose prompt and request id are hostile too."""
    made = []
    for i, name in enumerate(HOSTILE):
        user = make_user(name)
        team = make_team(name, user)
        generation = make_generation(user, team=team, prompt=name)
        make_attempt(
            user,
            "soft_refusal",
            generation=generation,
            team=team,
            request_id=name,
            http_status=200,
            latency=2_000 + i,
            when=WHEN,
        )
        made.append((user, team))
    return made


# --- the one function ---------------------------------------------------------------------
@pytest.mark.parametrize("value", [*HOSTILE, "＝1+1", "＋1", "－1", "＠A1"])
def test_safe_cell_prefixes_every_formula_start(value):
    assert csvsafe.safe_cell(value) == "'" + value


@pytest.mark.parametrize(
    "value", ["a lighthouse", "2026-11-05", "0.0300", "x=1", " =1", "", "画一座灯塔"]
)
def test_safe_cell_leaves_harmless_text_alone(value):
    assert csvsafe.safe_cell(value) == value


@pytest.mark.parametrize("value", [Decimal("-0.0300"), -2, -1.5, Decimal("0.03"), 0, None])
def test_numbers_the_code_writes_stay_numbers(value):
    """A figure is never a formula: a negative amount (none exist today) is kept as is."""
    assert csvsafe.safe_cell(value) == ("" if value is None else value)
    line = "".join(csvsafe.lines(["n"], [[value]]))
    assert read(line) == [{"n": "" if value is None else str(value)}]


def test_every_csv_writer_is_the_neutralising_one():
    """No module but csvsafe builds a csv writer: a new export goes through safe_cell."""
    writers = []
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr in ("writer", "DictWriter")
                and isinstance(node.value, ast.Name)
                and node.value.id == "csv"
            ):
                writers.append(str(path.relative_to(PACKAGE.parent)))
    assert writers == ["imagestudio/spend/csvsafe.py"], writers


# --- the staff dashboard's tables ---------------------------------------------------------
@pytest.mark.parametrize("table", ["by_user", "by_team"])
def test_dashboard_tables_neutralise_names(admin_client_, hostile_rows, table):
    rows = downloaded(
        admin_client_.get("/spend/", {**MONTH, "format": "csv", "table": table}),
        spend_views.BREAKDOWN_COLUMNS,
    )
    keys = {r["key"] for r in rows}
    assert {neutralised(name) for name in HOSTILE} <= keys
    assert not any(key.startswith(tuple("=+-@\t\r")) for key in keys)
    # The figures beside a name are still plain numbers.
    hostile = next(r for r in rows if r["key"] == neutralised("-2+3"))
    assert (hostile["total_usd"], hostile["calls"], hostile["no_image_share"]) == (
        "0.0300",
        "1",
        "1.0000",
    )


@pytest.mark.parametrize("table", ["by_model", "by_size_tier", "by_day", "latency", "totals"])
def test_dashboard_tables_of_code_values_are_unchanged(admin_client_, hostile_rows, table):
    rows = downloaded(
        admin_client_.get("/spend/", {**MONTH, "format": "csv", "table": table}),
        TABLE_COLUMNS.get(table, spend_views.BREAKDOWN_COLUMNS),
    )
    assert rows and not any(v.startswith("'") for r in rows for v in r.values())


# --- the soft-refusal report --------------------------------------------------------------
def test_soft_refusal_report_neutralises_users_teams_prompts_and_request_ids(
    admin_client_, hostile_rows
):
    rows = downloaded(
        admin_client_.get(reverse("spend:soft_refusals"), {"month": "2026-11", "format": "csv"}),
        spend_views.REPORT_COLUMNS,
    )
    assert len(rows) == len(HOSTILE)
    for column in ("user", "team", "prompt", "request_id"):
        assert sorted(r[column] for r in rows) == sorted(map(neutralised, HOSTILE)), column
    for row in rows:
        assert row["amount_usd"] == "0.0300" and row["latency_ms"].isdigit()
        assert row["short_latency"] == "yes" and row["http_status"] == "200"


# --- a user's own ledger ------------------------------------------------------------------
def test_own_ledger_csv_neutralises_team_names_and_request_ids(client, hostile_rows):
    user, team = hostile_rows[0]
    make_attempt(user, "image", team=team, request_id="plain-id", when=WHEN)
    other, _ = hostile_rows[1]
    client.force_login(user)
    rows = downloaded(
        client.get(reverse("spend:mine"), {"format": "csv"}), spend_views.LEDGER_COLUMNS
    )
    assert len(rows) == 2  # the user's own rows only
    by_id = {r["request_id"]: r for r in rows}
    assert set(by_id) == {neutralised(HOSTILE[0]), "plain-id"}
    assert {r["team"] for r in rows} == {neutralised(team.name)}
    assert by_id["plain-id"]["amount_usd"] == "0.0300" and by_id["plain-id"]["billed"] == "yes"
    assert other.username not in {r["team"] for r in rows}


def test_own_ledger_csv_says_when_a_rows_image_was_deleted(client, owner):
    kept = make_finished(owner, prompt="a lighthouse")
    gone = make_finished(owner, prompt="a harbour")
    make_attempt(owner, "image", generation=kept, request_id="kept", when=WHEN)
    make_attempt(owner, "image", generation=gone, request_id="gone", when=WHEN)
    make_attempt(owner, "unreachable", request_id="no-image", when=WHEN)
    gone.soft_delete()
    gone.refresh_from_db()
    client.force_login(owner)
    rows = downloaded(
        client.get(reverse("spend:mine"), {"format": "csv"}), spend_views.LEDGER_COLUMNS
    )
    by_id = {r["request_id"]: r for r in rows}
    # The deleted image's row stays, its id still a plain number, with when it went.
    assert by_id["gone"]["generation"] == str(gone.pk)
    assert by_id["gone"]["image_deleted_utc"] == gone.deleted_at.astimezone(UTC).isoformat()
    assert by_id["kept"]["generation"] == str(kept.pk)
    assert by_id["kept"]["image_deleted_utc"] == ""
    assert by_id["no-image"]["image_deleted_utc"] == ""


def test_own_ledger_csvs_deleted_column_is_worded_in_the_readers_language(client, owner):
    client.force_login(owner)
    english = header_of(client.get(reverse("spend:mine"), {"format": "csv"}))
    chinese = header_of(
        client.get(reverse("spend:mine"), {"format": "csv"}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    )
    at = list(spend_views.LEDGER_COLUMNS).index("image_deleted_utc")
    assert english[at] == "Image deleted (UTC)"
    assert chinese[at] == "图片删除时间（UTC）"


# --- human headers, in the reader's language ----------------------------------------------
def header_of(response) -> list[str]:
    return next(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_spend_csvs_have_human_headers(admin_client_, admin_user):
    make_attempt(admin_user, "image", when=WHEN)
    by_team = header_of(
        admin_client_.get("/spend/", {**MONTH, "format": "csv", "table": "by_team"})
    )
    assert by_team[:3] == ["Team", "Spend (USD)", "Calls"]
    totals = header_of(admin_client_.get("/spend/", {**MONTH, "format": "csv", "table": "totals"}))
    assert totals[0] == "Dates"
    report = header_of(
        admin_client_.get(reverse("spend:soft_refusals"), {"month": "2026-11", "format": "csv"})
    )
    assert report[0] == "Time (UTC)"
    assert report[-3:] == ["Request id", "Prompt", "Gateway log id"]
    mine = header_of(admin_client_.get(reverse("spend:mine"), {"format": "csv"}))
    assert mine[:3] == ["Time (UTC)", "Image", "Team"]
    for header in (by_team, totals, report, mine):
        assert not any("_" in cell for cell in header), header


def test_spend_csv_headers_follow_the_readers_language(admin_client_, admin_user):
    make_attempt(admin_user, "image", when=WHEN)
    zh = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}
    mine = header_of(admin_client_.get(reverse("spend:mine"), {"format": "csv"}, **zh))
    assert "团队" in mine and "模型" in mine and "Team" not in mine
    by_user = header_of(
        admin_client_.get("/spend/", {**MONTH, "format": "csv", "table": "by_user"}, **zh)
    )
    assert by_user[0] == "用户"


def test_the_apis_spend_keys_stay_as_they_are():
    """The CSV columns are named by the API's JSON keys in code; only the header is worded."""
    assert list(spend_views.BREAKDOWN_COLUMNS)[:3] == ["key", "total_usd", "calls"]
    assert "amount_usd" in spend_views.LEDGER_COLUMNS


def test_own_ledger_csv_needs_a_sign_in(client):
    response = client.get(reverse("spend:mine"), {"format": "csv"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# --- the monthly report command -----------------------------------------------------------
def test_spend_report_csv_neutralises_user_and_team_names(hostile_rows):
    out = io.StringIO()
    call_command("spend_report", "--month", "2026-11", "--format", "csv", stdout=out)
    rows = read(out.getvalue())
    for group in ("user", "team"):
        keys = sorted(r["key"] for r in rows if r["group"] == group)
        assert keys == sorted(map(neutralised, HOSTILE)), group
    models = [r for r in rows if r["group"] == "model"]
    assert len(models) == 1 and not models[0]["key"].startswith("'")
    assert models[0]["total_usd"] == "0.1800"  # six soft refusals at $0.03
    assert models[0]["calls"] == str(len(HOSTILE))


def test_spend_report_text_is_unchanged_by_default(hostile_rows):
    out = io.StringIO()
    call_command("spend_report", "--month", "2026-11", stdout=out)
    assert out.getvalue().startswith("Spend for 2026-11 (UTC)")
