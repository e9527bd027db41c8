"""Every route of the catalog × endpoint, from the API to the simulator over HTTP and back
to the ledger: what each route is sent, what it costs, and what is refused before a call."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from imagestudio import catalog
from imagestudio.spend.models import Attempt, RouteSetting
from imagestudio.studio.models import Generation
from imagestudio.studio.tasks import run_generation
from tests.factories import picture_bytes
from tests.test_api_edits import post_edit
from tests.test_api_generations import URL, Api

pytestmark = pytest.mark.django_db
SIZES = {
    catalog.VIP: "1280x720",
    catalog.ALL: "",
    catalog.ALL_26: "2048x1152",
    catalog.OFFICIAL: "1536x1024",
}


@pytest.fixture
def api(owner) -> Api:
    return Api(owner)


def billed_usd(simulator_url: str) -> Decimal:
    health = httpx.get(simulator_url.removesuffix("/v1") + "/healthz", timeout=5).json()
    return Decimal(health["billed_usd"])


def made(response) -> Generation:
    assert response.status_code == 202, response.content.decode()[:500]
    (row,) = response.json()["generations"]
    assert run_generation(row["id"]) == "succeeded"
    return Generation.objects.get(pk=row["id"])


@pytest.mark.parametrize("model", list(SIZES))
@pytest.mark.parametrize("endpoint", ["generations", "edits"])
def test_every_route_and_endpoint_is_made_and_billed_as_the_gateway_bills(
    api, gateway, model, endpoint
):
    before = billed_usd(gateway)
    if endpoint == "generations":
        response = api.post(URL, {"model": model, "prompt": "a kite", "size": SIZES[model]})
    else:
        parts = [("model", model), ("prompt", "the kite in image1, in red"), ("size", SIZES[model])]
        response = post_edit(api, [*parts, ("image1", ("kite.jpg", picture_bytes()))])
    generation = made(response)
    rows = list(Attempt.objects.filter(generation=generation))
    assert [(r.model, r.billed) for r in rows] == [(model, True)]
    # The ledger is what the simulator billed for this very call.
    assert generation.cost_usd == rows[0].amount == billed_usd(gateway) - before
    if model == catalog.OFFICIAL:
        assert rows[0].output_tokens and rows[0].quality == "medium"
    else:
        assert rows[0].amount == catalog.gateway_price(model)


def test_a_token_billed_image_costs_its_usage_times_the_catalog_prices(api, gateway):
    body = {"model": catalog.OFFICIAL, "prompt": "a fox", "size": "2048x1152", "quality": "high"}
    generation = made(api.post(URL, body))
    row = Attempt.objects.get(generation=generation)
    prices = catalog.MODELS[catalog.OFFICIAL].token_prices
    assert prices is not None
    expected = (
        row.text_tokens * prices.text_input
        + row.image_tokens * prices.image_input
        + row.output_tokens * prices.image_output
    ) / 1_000_000
    assert row.amount == expected.quantize(Decimal("0.000001"))
    assert row.output_tokens == catalog.expected_output_tokens(
        catalog.OFFICIAL, "2048x1152", "high"
    )
    low, high = catalog.estimate_range(catalog.OFFICIAL, "2048x1152", "high")
    assert low <= row.amount <= high
    g = api.get(f"{URL}/{generation.pk}").json()
    assert g["usage"] == {
        "text_input_tokens": row.text_tokens,
        "image_input_tokens": 0,
        "output_tokens": row.output_tokens,
        "missing": False,
    }
    assert g["quality"] == "high"
    assert Decimal(g["cost_usd"]) == row.amount and len(g["cost_usd"].split(".")[1]) <= 6


def test_a_token_billed_answer_without_usage_is_billed_at_the_top_of_its_range(api, gateway):
    body = {"model": catalog.OFFICIAL, "prompt": "[sim:no-usage] a fox", "size": "1024x1024"}
    generation = made(api.post(URL, body))
    row = Attempt.objects.get(generation=generation)
    assert row.usage_missing and row.output_tokens is None
    assert row.amount == catalog.reserve_per_image(catalog.OFFICIAL, "1024x1024", "medium")
    assert api.get(f"{URL}/{generation.pk}").json()["usage"]["missing"] is True


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"model": catalog.VIP, "size": "2048x2048", "quality": "high"}, "quality"),
        ({"model": catalog.ALL_26, "size": "1024x1024", "output_format": "webp"}, "output_format"),
        ({"model": catalog.ALL_26, "size": "1920x1080"}, "size"),
        ({"model": catalog.OFFICIAL, "size": "1920x1080"}, "size"),
        ({"model": catalog.OFFICIAL, "size": "1024x1024", "quality": "ultra"}, "quality"),
        ({"model": catalog.ALL, "background": "transparent"}, "background"),
    ],
)
def test_what_a_route_does_not_take_is_a_400_naming_the_field_and_no_call(api, body, field):
    response = api.post(URL, {"prompt": "a kite", **body})
    assert response.status_code == 400
    assert response.json()["error"]["field"] == field
    assert not Generation.objects.exists()


def test_a_model_switched_off_by_staff_is_refused_with_a_clear_400(api):
    RouteSetting.objects.create(model=catalog.ALL_26, enabled=False)
    response = api.post(URL, {"model": catalog.ALL_26, "prompt": "a kite", "size": "1024x1024"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["field"] == "model" and "switched off" in error["message"]
    assert not Generation.objects.exists()
    listed = [m["id"] for m in api.get("/api/v1/models").json()["results"]]
    assert catalog.ALL_26 not in listed and catalog.VIP in listed


def test_a_safety_verdict_is_refused_never_retried_nor_rerouted(api, gateway):
    body = {"model": catalog.VIP, "prompt": "[sim:451] a kite", "size": "3840x2160"}
    response = api.post(URL, body)
    (row,) = response.json()["generations"]
    assert run_generation(row["id"]) == "moderation"
    rows = list(Attempt.objects.filter(generation_id=row["id"]))
    assert [(r.model, r.http_status, r.billed) for r in rows] == [(catalog.VIP, 451, False)]
    g = api.get(f"{URL}/{row['id']}").json()
    assert g["status"] == "refused" and g["error"]["code"] == "moderation"
    assert "ephrase" in g["error"]["message"]


def test_the_models_list_says_prices_fields_and_the_timeout_in_force(api, settings):
    settings.UPSTREAM_TIMEOUT = None
    models = {m["id"]: m for m in api.get("/api/v1/models").json()["results"]}
    assert set(models) == set(catalog.MODELS)
    official = models[catalog.OFFICIAL]
    assert official["family"] == "per_token" and official["prices"]["per_image_usd"] is None
    assert official["prices"]["image_output_per_million_usd"] == "30.00"
    assert official["quality"] == ["low", "medium", "high", "auto"] and official["mask"]
    assert official["sizes"]["free"]["max_edge"] == 3840
    assert [e["quality"] for e in official["estimates"]] == official["quality"]
    assert models[catalog.ALL_26]["prices"]["per_image_usd"] == "0.025"
    assert models[catalog.VIP]["timeout_s"] == 600 and models[catalog.VIP]["quality"] == []
    # No calls yet: no route has figures to show.
    assert all(not tier["hour"]["calls"] for tier in models[catalog.VIP]["health"])
    settings.UPSTREAM_TIMEOUT = 90.0
    models = {m["id"]: m for m in api.get("/api/v1/models").json()["results"]}
    assert {m["timeout_s"] for m in models.values()} == {90}
