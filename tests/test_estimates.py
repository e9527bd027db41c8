"""Before submitting, the estimate per image follows the size and quality chosen (and, on
the API, the reference pictures): GET /api/v1/models lists it per size the form offers
and quality tier, GET /api/v1/estimate says it for any request, and the studio form's
line is redrawn for the size and quality picked."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from imagestudio import catalog
from imagestudio.spend import budgets, money
from tests.factories import bearer, make_token

pytestmark = pytest.mark.django_db
OFFICIAL = catalog.OFFICIAL


@pytest.fixture
def api(client, owner):
    _, raw = make_token(owner)
    client.defaults["HTTP_AUTHORIZATION"] = bearer(raw)["Authorization"]
    return client


def estimate(api, **query):
    return api.get("/api/v1/estimate", query)


def test_the_models_list_estimates_a_token_route_at_every_offered_size_and_quality(api):
    models = {m["id"]: m for m in api.get("/api/v1/models").json()["results"]}
    rows = models[OFFICIAL]["size_estimates"]
    offered = catalog.SIZE_SETS_BY_VALUE[catalog.MODELS[OFFICIAL].sizes.set]
    assert {(r["size"], r["quality"]) for r in rows} == {
        (size, q) for size in offered for q in catalog.MODELS[OFFICIAL].quality
    }
    by = {(r["size"], r["quality"]): r for r in rows}
    square_4k = next(s for s in offered.values() if s.tier == "4k" and s.ratio == "1:1")
    assert by[(square_4k.value, "high")]["tier"] == "4k"
    low, high = catalog.estimate_range(OFFICIAL, square_4k.value, "high")
    assert Decimal(by[(square_4k.value, "high")]["low_usd"]) == low
    assert Decimal(by[(square_4k.value, "high")]["high_usd"]) == high
    assert (
        Decimal(by[(square_4k.value, "high")]["high_usd"])
        > Decimal(by[("1024x1024", "high")]["high_usd"])
        > Decimal(by[("1024x1024", "low")]["high_usd"])
    )
    # A per-call route costs the same at every size: its price says it.
    assert models[catalog.VIP]["size_estimates"] == []


def test_the_estimate_counts_size_quality_and_pictures(api):
    plain = estimate(api, model=OFFICIAL, size="2048x2048", quality="high").json()
    many = estimate(api, model=OFFICIAL, size="2048x2048", quality="high", inputs="16").json()
    low, high = catalog.estimate_range(OFFICIAL, "2048x2048", "high", 16)
    assert (Decimal(many["low_usd"]), Decimal(many["high_usd"])) == (low, high)
    assert Decimal(many["high_usd"]) > Decimal(plain["high_usd"])
    held = budgets.per_image(OFFICIAL, "2048x2048", "high", 16, catalog.EDITS)
    assert Decimal(many["reserved_usd"]) == held
    assert (many["tier"], many["inputs"], many["family"]) == ("2k", 16, "per_token")
    # A free size the form does not offer, within the route's rules.
    free = estimate(api, model=OFFICIAL, size="1600x896").json()
    assert free["quality"] == catalog.quality_sent(OFFICIAL, "")


def test_a_per_call_route_estimates_its_price(api):
    got = estimate(api, model=catalog.ALL_26, size="2048x2048").json()
    price = catalog.price(catalog.ALL_26)
    assert (Decimal(got["low_usd"]), Decimal(got["high_usd"])) == (price, price)
    assert got["quality"] is None


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"model": "dall-e-9"}, "model"),
        ({"model": OFFICIAL, "size": "17x17"}, "size"),
        ({"model": OFFICIAL, "quality": "ultra"}, "quality"),
        ({"model": catalog.VIP, "quality": "high"}, "quality"),
        ({"model": OFFICIAL, "inputs": "17"}, "inputs"),
        ({"model": catalog.VIP, "inputs": "-1"}, "inputs"),
    ],
)
def test_a_request_the_model_would_refuse_is_a_400_naming_the_field(api, query, field):
    response = estimate(api, **query)
    assert response.status_code == 400
    assert response.json()["error"]["field"] == field


def test_the_estimate_takes_get_only_and_a_token(client, api):
    assert api.post("/api/v1/estimate").status_code == 405
    client.defaults.pop("HTTP_AUTHORIZATION")
    assert client.get("/api/v1/estimate", {"model": OFFICIAL}).status_code == 401


def test_the_forms_estimate_follows_the_size_and_quality_chosen(client, owner):
    client.force_login(owner)
    url = reverse("studio:sizes")
    lines = {}
    for size, quality in [("1024x1024", "low"), ("1024x1024", "high"), ("2880x2880", "high")]:
        html = client.get(url, {"model": OFFICIAL, "size": size, "quality": quality}).content
        text = html.decode()
        line = text.split("data-estimate>", 1)[1].split("</p>", 1)[0]
        low, high = catalog.estimate_range(OFFICIAL, size, quality)
        assert money.usd(low) in line and money.usd(high) in line
        lines[(size, quality)] = line
    assert len(set(lines.values())) == 3
