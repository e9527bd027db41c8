"""Before submitting, the estimate per image follows the size, quality and reference
pictures chosen: GET /api/v1/models lists it per size the form offers and quality tier
with what each picture adds, GET /api/v1/estimate says it for any request, and the studio
form's line is redrawn for what the form holds; all three say the same figures."""

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


def form_line(client, size: str, quality: str, pictures: int = 0) -> str:
    data = {"prompt": "a kite", "model": OFFICIAL, "count": "1", "size": size}
    data |= {"quality": quality, "input": [str(n) for n in range(1, pictures + 1)]}
    html = client.post(reverse("studio:check"), data).content.decode()
    # The estimate, then what a budget holds back: a line each.
    return " ".join(
        html.split(f"{marker}>", 1)[1].split("</p>", 1)[0]
        for marker in ("data-estimate", "data-hold")
    )


def test_the_forms_estimate_follows_the_size_quality_and_pictures_chosen(client, owner):
    client.force_login(owner)
    lines = {}
    for size, quality, pictures in [
        ("1024x1024", "low", 0),
        ("1024x1024", "high", 0),
        ("2880x2880", "high", 0),
        ("2880x2880", "high", 3),
    ]:
        line = form_line(client, size, quality, pictures)
        low, high = catalog.estimate_range(OFFICIAL, size, quality, pictures)
        assert money.usd(low) in line and money.usd(high) in line
        lines[(size, quality, pictures)] = line
    assert len(set(lines.values())) == 4
    assert "with its 3 reference pictures" in lines[("2880x2880", "high", 3)]


@pytest.mark.parametrize("pictures", [0, 1, 16])
def test_the_form_the_estimate_and_the_models_list_agree_pictures_counted(
    api, client, owner, pictures
):
    """For every size the form offers and every quality: the models list's figure plus
    its per-picture figure, GET /estimate and the studio form's line are the same."""
    client.force_login(owner)
    (model,) = [m for m in api.get("/api/v1/models").json()["results"] if m["id"] == OFFICIAL]
    per_picture = Decimal(model["reference_picture_usd"])
    prices = catalog.token_prices(OFFICIAL)
    tokens = model["reference_picture_tokens"]
    assert per_picture == catalog.reference_picture_cost(OFFICIAL) > 0
    assert per_picture * 1_000_000 >= tokens * prices.image_input
    rows = model["size_estimates"]
    # The form is asked for a sample (it is a page per request); the API for all of them.
    sampled = {("1024x1024", "low"), ("2880x2880", "high"), ("2336x3504", "medium")}
    for row in rows:
        size, quality = row["size"], row["quality"]
        listed = (
            Decimal(row["low_usd"]) + pictures * per_picture,
            Decimal(row["high_usd"]) + pictures * per_picture,
        )
        asked = estimate(api, model=OFFICIAL, size=size, quality=quality, inputs=pictures).json()
        assert (Decimal(asked["low_usd"]), Decimal(asked["high_usd"])) == listed, row
        if (size, quality) in sampled:
            line = form_line(client, size, quality, pictures)
            held = Decimal(asked["reserved_usd"])
            assert f"about {money.usd(listed[0])} to {money.usd(listed[1])}" in line
            assert f"holds back {money.usd(held)}" in line
            sampled.discard((size, quality))
    assert not sampled


def test_a_per_call_route_adds_nothing_per_picture(api):
    models = {m["id"]: m for m in api.get("/api/v1/models").json()["results"]}
    assert (
        models[catalog.VIP]["reference_picture_usd"],
        models[catalog.VIP]["reference_picture_tokens"],
    ) == ("0.00", 0)
    four = estimate(api, model=catalog.VIP, size="2048x2048", inputs="4").json()
    assert Decimal(four["high_usd"]) == catalog.price(catalog.VIP)
