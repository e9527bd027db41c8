"""GET /api/v1/spend: totals and groups from the ledger, own rows only for non-staff."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from imagestudio import catalog
from imagestudio.api.models import ApiToken
from tests.factories import make_attempt, make_team

pytestmark = pytest.mark.django_db
URL = "/api/v1/spend"


@pytest.fixture
def ledger(owner, other_user):
    team = make_team("Design")
    day1 = datetime(2026, 10, 1, 9, tzinfo=UTC)
    day2 = datetime(2026, 10, 31, 23, 59, tzinfo=UTC)
    make_attempt(owner, when=day1, team=team)
    make_attempt(owner, "soft_refusal", when=day2, model=catalog.ALL)
    make_attempt(owner, "saturated", when=day2)
    make_attempt(other_user, when=day1, team=team)
    make_attempt(other_user, when=datetime(2026, 11, 1, tzinfo=UTC))  # outside October


def get(client, headers=None, **params):
    return client.get(URL, params, headers=headers or {})


def test_needs_authentication(client):
    response = get(client)
    assert response.status_code == 401 and response.json()["error"]["code"] == "unauthorized"


def test_get_only(owner_client):
    assert owner_client.post(URL).status_code == 405


def test_staff_sees_everyone(admin_client_, ledger):
    data = get(admin_client_, **{"from": "2026-10-01", "to": "2026-10-31"}).json()
    assert data["total_usd"] == "0.09"
    assert (data["billed_calls"], data["unbilled_calls"]) == (3, 1)
    assert data["no_image_usd"] == "0.03"
    assert data["groups"] == []


def test_non_staff_token_sees_own_attempts(client, owner, ledger):
    _token, raw = ApiToken.issue(owner, "test")
    headers = {"Authorization": f"Bearer {raw}"}
    data = get(client, headers, **{"from": "2026-10-01", "to": "2026-10-31"}).json()
    assert data["total_usd"] == "0.06" and data["billed_calls"] == 2
    data = get(client, headers, **{"from": "2026-10-01", "to": "2026-10-31", "group_by": "user"})
    assert [g["key"] for g in data.json()["groups"]] == ["owner"]


@pytest.mark.parametrize(
    ("group", "expected"),
    [
        ("user", [("owner", "0.06", 3), ("other", "0.03", 1)]),
        ("team", [("(none)", "0.03", 2), ("Design", "0.06", 2)]),
        ("model", [(catalog.VIP, "0.06", 3), (catalog.ALL, "0.03", 1)]),
        ("day", [("2026-10-01", "0.06", 2), ("2026-10-31", "0.03", 2)]),
    ],
)
def test_group_by(admin_client_, ledger, group, expected):
    data = get(admin_client_, **{"from": "2026-10-01", "to": "2026-10-31", "group_by": group})
    got = [(g["key"], g["total_usd"], g["calls"]) for g in data.json()["groups"]]
    assert sorted(got) == sorted(expected)


def test_to_is_inclusive_and_default_is_this_month(admin_client_, ledger):
    data = get(admin_client_, **{"from": "2026-10-31", "to": "2026-10-31"}).json()
    assert data["total_usd"] == "0.03"
    data = get(admin_client_).json()
    today = datetime.now(UTC).date()
    assert data["from"] == today.replace(day=1).isoformat() and data["to"] == today.isoformat()


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-13-01"}, "from"),
        ({"to": "yesterday"}, "to"),
        ({"from": "2026-10-02", "to": "2026-10-01"}, "to"),
        ({"from": "2020-01-01", "to": "2026-01-01"}, "to"),
        ({"group_by": "size"}, "group_by"),
    ],
)
def test_bad_parameters_are_400(admin_client_, params, field):
    response = get(admin_client_, **params)
    assert response.status_code == 400
    assert response.json()["error"]["field"] == field


def test_documented_in_openapi(client):
    document = client.get("/api/v1/openapi.json").json()
    assert "get" in document["paths"]["/spend"]
    create = document["paths"]["/generations"]["post"]
    assert "402" in create["responses"]


@pytest.fixture
def token_ledger(owner, other_user):
    """Two token-billed calls of the owner's with usage, one without, and a per-call one."""
    day = datetime(2026, 10, 5, tzinfo=UTC)
    usage = {"quality": "high", "model": catalog.OFFICIAL, "when": day}
    make_attempt(
        owner, amount="0.051234", text_tokens=40, image_tokens=1600, output_tokens=4000, **usage
    )
    make_attempt(
        other_user, amount="0.000001", text_tokens=1, image_tokens=0, output_tokens=0, **usage
    )
    make_attempt(owner, amount="0.2", usage_missing=True, **usage)
    make_attempt(owner, when=day)


def test_the_spend_sums_the_tokens_where_there_are_any(admin_client_, token_ledger):
    october = {"from": "2026-10-01", "to": "2026-10-31"}
    data = get(admin_client_, **october).json()
    assert data["tokens"] == {
        "calls": 2,
        "text_input_tokens": 41,
        "image_input_tokens": 1600,
        "output_tokens": 4000,
        "usage_missing_calls": 1,
    }
    assert data["total_usd"] == "0.281235"
    groups = get(admin_client_, **october, group_by="model").json()["groups"]
    by_model = {g["key"]: g["tokens"] for g in groups}
    assert by_model[catalog.VIP] is None
    assert by_model[catalog.OFFICIAL]["output_tokens"] == 4000
    users = get(admin_client_, **october, group_by="user").json()["groups"]
    assert {g["key"]: g["tokens"]["calls"] for g in users} == {"owner": 1, "other": 1}


def test_a_range_without_token_calls_has_no_tokens(admin_client_, ledger):
    data = get(admin_client_, **{"from": "2026-10-01", "to": "2026-10-31", "group_by": "user"})
    assert data.json()["tokens"] is None
    assert all(g["tokens"] is None for g in data.json()["groups"])


def test_a_non_staff_token_sees_its_own_tokens(client, owner, token_ledger):
    _token, raw = ApiToken.issue(owner, "test")
    headers = {"Authorization": f"Bearer {raw}"}
    data = get(client, headers, **{"from": "2026-10-01", "to": "2026-10-31"}).json()
    assert (data["tokens"]["calls"], data["tokens"]["text_input_tokens"]) == (1, 40)


def test_the_tokens_are_in_the_openapi_document(client):
    document = client.get("/api/v1/openapi.json").json()
    schemas = document["components"]["schemas"]
    report = schemas["SpendReport"]
    assert "tokens" in report["required"] and "tokens" in schemas["SpendGroup"]["required"]
    fields = set(schemas["SpendTokens"]["properties"])
    assert fields == {
        "calls",
        "text_input_tokens",
        "image_input_tokens",
        "output_tokens",
        "usage_missing_calls",
    }
