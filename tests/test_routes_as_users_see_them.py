"""Issue 20 walked through as its users meet it: what the form starts on and offers while
staff have a model off, what its cost lines say will be spent and held back, what a
refusal after a reroute is called, the API's wording of a wrong size or an `n`, the
latency CSV's milliseconds and the call table on a phone."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal

import pytest
from django.urls import reverse

from imagestudio import catalog
from imagestudio.routing import chains
from imagestudio.routing.models import Chain
from imagestudio.spend import money
from imagestudio.spend.models import RouteSetting
from imagestudio.studio.models import Status
from imagestudio.studio.tasks import run_generation
from tests.factories import bearer, make_attempt, make_generation, make_token
from tests.test_rerouting import (  # noqa: F401  (fixtures, used by name)
    NEW,
    default_chains,
    failing_vip_4k,
    on_failing_vip,
    received,
)
from tests.test_spend_dashboard import parse_csv

pytestmark = pytest.mark.django_db
OFFICIAL = catalog.OFFICIAL
WIDE_4K = "3840x2160"


@pytest.fixture
def api(client, owner):
    _, raw = make_token(owner)
    client.defaults["HTTP_AUTHORIZATION"] = bearer(raw)["Authorization"]
    return client


def feedback(client, **data) -> str:
    form = {"prompt": "a kite", "count": "1", **data}
    return client.post(reverse("studio:check"), form).content.decode()


def line(html: str, marker: str) -> str:
    return html.split(f"{marker}>", 1)[1].split("</p>", 1)[0]


# --- the form while staff have the default model off ---------------------------------------
def test_the_form_starts_on_a_model_that_is_on_when_staff_switched_the_default_off(
    owner_client,
):
    RouteSetting.objects.create(model=catalog.ALL, enabled=False)
    page = owner_client.get("/").content.decode()
    selected = re.findall(r'<option value="([^"]+)" selected', page.split('name="model"', 1)[1])
    assert selected[0] == catalog.default_model() != catalog.ALL
    # Its presets would only lead to a refusal: not offered while it is off.
    assert 'value="draft-landscape"' not in page
    assert 'value="poster"' in page


# --- what the cost lines say will be spent and what is held back ----------------------------
def test_a_token_routes_cost_line_is_its_range_and_the_hold_says_it_is_the_top(owner_client):
    html = feedback(owner_client, model=OFFICIAL, size=WIDE_4K, quality="low", count="3")
    low, high = catalog.estimate_range(OFFICIAL, WIDE_4K, "low")
    assert line(html, "data-cost") == (
        f"3 images × {money.usd(low)} to {money.usd(high)} = "
        f"{money.usd(low * 3)} to {money.usd(high * 3)}"
    )
    assert line(html, "data-hold") == (
        f"Until the bill is known, the budget holds back {money.usd(high)} per image, the "
        "top of the estimate."
    )


def test_a_per_call_route_says_no_hold_when_it_holds_its_price(owner_client):
    html = feedback(owner_client, model=NEW, size="1024x1024", count="2")
    assert line(html, "data-cost") == "2 images × $0.025 = $0.05"
    assert "data-hold" not in html


def test_a_dearer_fallback_is_said_as_the_reason_for_holding_more_than_the_price(owner_client):
    Chain.objects.update_or_create(
        model=catalog.VIP,
        tier="2k",
        defaults={"fallbacks": [OFFICIAL], "allow_dearer": True},
    )
    chains.forget()
    size = "2048x2048"
    held = chains.reservation(catalog.VIP, size)
    assert held > catalog.price(catalog.VIP)
    html = feedback(owner_client, model=catalog.VIP, size=size)
    assert line(html, "data-cost") == "1 image × $0.03 = $0.03"
    hold = line(html, "data-hold")
    assert f"holds back {money.usd(held)} per image" in hold
    assert "if gpt-image-2-vip fails" in hold


def test_a_lists_preview_costs_the_size_and_quality_it_is_asked_at(owner_client):
    data = {
        "mode": "list",
        "model": OFFICIAL,
        "size": WIDE_4K,
        "quality": "low",
        "count": "1",
        "items": "a kite\na boat\na tent\n",
        "action": "preview",
    }
    page = owner_client.post("/generate", data).content.decode()
    low, high = catalog.estimate_range(OFFICIAL, WIDE_4K, "low")
    assert f"3 images × {money.usd(low)} to {money.usd(high)}" in page
    # Not the default size and quality's figure.
    assert money.usd(catalog.price(OFFICIAL)) not in page.split("list-preview", 1)[1][:400]


def test_the_forms_lines_are_said_in_chinese(client, owner):
    client.force_login(owner)
    html = client.post(
        reverse("studio:check"),
        {"prompt": "a kite", "model": OFFICIAL, "count": "2"},
        headers={"Accept-Language": "zh-hans"},
    ).content.decode()
    for marker in ("data-cost", "data-estimate", "data-hold"):
        words = set(re.findall(r"[A-Za-z]{3,}", line(html, marker)))
        assert words <= {"token"}, (marker, words)


# --- a refusal after a reroute ----------------------------------------------------------------
def test_a_safety_refusal_after_a_reroute_is_said_as_a_refusal_not_a_failure(
    owner,
    owner_client,
    on_failing_vip,  # noqa: F811
):
    prompt = f"a beach poster {uuid.uuid4()} [sim:451]"
    generation = make_generation(owner, size=WIDE_4K, prompt=prompt)
    run_generation(generation.pk)
    generation.refresh_from_db()
    assert generation.status == Status.REFUSED
    # -vip's 504 moved it once; gpt-image-2.6-all's verdict ended it there.
    assert received(on_failing_vip, prompt) == [(catalog.VIP, WIDE_4K), (NEW, WIDE_4K)]
    said = "gpt-image-2-vip failed once, not billed; gpt-image-2.6-all refused it, not billed"
    assert generation.route_note == said
    assert said in owner_client.get(f"/g/{generation.pk}/").content.decode()


# --- the API's words --------------------------------------------------------------------------
def test_a_fixed_size_route_is_not_told_the_official_routes_free_size_rules(api):
    response = api.post(
        "/api/v1/generations",
        {"model": NEW, "prompt": "a kite", "size": "2336x3520"},
        content_type="application/json",
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["field"] == "size"
    assert error["message"] == (
        "'2336x3520' is not a size gpt-image-2.6-all accepts: pick one from the list."
    )


def test_the_official_routes_free_size_rules_come_from_the_catalog(api):
    response = api.post(
        "/api/v1/generations",
        {"model": OFFICIAL, "prompt": "a kite", "size": "1000x1000"},
        content_type="application/json",
    )
    assert response.status_code == 400
    rule = catalog.MODELS[OFFICIAL].sizes
    message = response.json()["error"]["message"]
    assert f"edges up to {rule.max_edge} in multiples of {rule.multiple_of}" in message
    assert f"{rule.min_pixels:,} to {rule.max_pixels:,} pixels" in message


def test_n_is_refused_without_saying_every_route_returns_one_image(api):
    # gpt-image-2.6-all honours n: "only ever returns one" would be wrong for it.
    response = api.post(
        "/api/v1/generations",
        {"model": NEW, "prompt": "a kite", "n": 3},
        content_type="application/json",
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["field"] == "n"
    assert "only ever returns one" not in error["message"]
    assert "count (1–10)" in error["message"]


# --- the staff spend page and the image page ----------------------------------------------
def test_the_latency_csv_says_whole_milliseconds(admin_client_, owner):
    for latency in (1000, 1001, 1002, 1004):
        make_attempt(owner, latency=latency, http_status=200)
    rows = parse_csv(admin_client_.get("/spend/", {"format": "csv", "table": "latency"}))
    assert [(r["median_ms"], r["p95_ms"]) for r in rows] == [("1002", "1004")]
    assert all(Decimal(r["p95_ms"]) == int(r["p95_ms"]) for r in rows)


def test_the_call_table_scrolls_in_its_own_box_on_a_phone(owner_client, owner):
    generation = make_generation(owner, status=Status.FAILED)
    make_attempt(owner, "upstream_error", generation=generation, http_status=503, billed=False)
    page = owner_client.get(f"/g/{generation.pk}/").content.decode()
    assert re.search(r'<div class="table-scroll">\s*<table class="attempts">', page)


# --- the staff chains page ----------------------------------------------------------------
def test_a_chain_is_for_a_catalog_route_and_its_fallbacks_read_in_order(admin_client_):
    form = {
        "tier": "2k",
        "fallbacks": '["gpt-image-2.6-all", "gpt-image-2"]',
        "allow_dearer": "on",
        "min_success_rate": "0.50",
        "window_calls": "20",
        "cool_down_s": "300",
    }
    typo = admin_client_.post("/admin/routing/chain/add/", {**form, "model": "gpt-image-2-vp"})
    assert typo.status_code == 200 and not Chain.objects.filter(model="gpt-image-2-vp").exists()
    made = admin_client_.post("/admin/routing/chain/add/", {**form, "model": catalog.ALL})
    assert made.status_code == 302
    listing = admin_client_.get("/admin/routing/chain/").content.decode()
    assert "gpt-image-2.6-all → gpt-image-2" in listing
    assert "[&quot;gpt-image-2.6-all" not in listing


def test_a_users_own_calls_page_links_its_csv_with_the_tokens(owner_client, owner):
    make_attempt(owner, model=OFFICIAL, tier="1k", text_tokens=3, image_tokens=0, output_tokens=900)
    page = owner_client.get("/spend/mine/").content.decode()
    link = re.search(r'href="([^"]*format=csv[^"]*)" data-csv', page)
    assert link is not None
    response = owner_client.get("/spend/mine/" + link.group(1).replace("&amp;", "&"))
    text = b"".join(response.streaming_content).decode()
    header, row = text.splitlines()[:2]
    assert "Output tokens" in header and row.split(",")[-2] == "900"


@pytest.mark.parametrize("model", [NEW, OFFICIAL])
def test_a_transparent_jpeg_is_a_400_on_output_format_and_no_call(api, model):
    from imagestudio.studio.models import Generation

    response = api.post(
        "/api/v1/generations",
        {"model": model, "prompt": "a kite", "background": "transparent", "output_format": "jpeg"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "output_format"
    assert not Generation.objects.exists()
    fine = {"model": model, "prompt": "a kite", "background": "transparent", "output_format": "png"}
    assert api.post("/api/v1/generations", fine, content_type="application/json").status_code == 202


def test_the_form_says_a_transparent_jpeg_beside_the_file_format(owner_client):
    data = {"prompt": "a kite", "model": NEW, "size": "1024x1024", "count": "1"}
    data |= {"background": "transparent", "output_format": "jpeg"}
    page = owner_client.post("/generate", data).content.decode()
    after_format = page.split('name="output_format"', 1)[1]
    assert "A JPEG cannot be transparent" in after_format.split("</select>", 1)[1][:400]


# --- the next turn from an image of a route without chat ----------------------------------
def test_the_image_page_offers_a_next_turn_as_an_edit_priced_with_its_picture(owner_client, owner):
    from tests.factories import make_finished

    image = make_finished(owner, model=OFFICIAL, size="1024x1024", quality="high")
    page = owner_client.get(f"/g/{image.pk}/").content.decode()
    assert "edited by the model (gpt-image-2) with your words" in page
    assert "in conversation with the model" not in page
    with_picture = catalog.reserve_per_image(OFFICIAL, "1024x1024", "high", 1)
    assert with_picture > catalog.reserve_per_image(OFFICIAL, "1024x1024", "high", 0)
    assert f"{money.usd(with_picture)} per turn" in page
    vip = make_finished(owner, model=catalog.VIP, size="2048x2048")
    assert "in conversation with the model" in owner_client.get(f"/g/{vip.pk}/").content.decode()


def test_a_refused_turn_keeps_the_continue_editing_words(owner_client, owner):
    from tests.factories import make_finished

    image = make_finished(owner, model=catalog.VIP, size="2048x2048")
    page = owner_client.post(
        f"/g/{image.pk}/iterate", {"prompt": "  "}, headers={"HX-Request": "true"}
    ).content.decode()
    assert 'role="alert"' in page
    assert "Continue editing" in page and "Branch from here" not in page


def test_a_turn_from_an_older_transparent_jpeg_keeps_the_transparency(owner):
    from imagestudio.studio import services
    from tests.factories import make_finished

    parent = make_finished(
        owner, model=NEW, size="1024x1024", background="transparent", output_format="jpeg"
    )
    _, (turn,) = services.iterate(owner, parent, "now at night")
    assert (turn.background, turn.output_format) == ("transparent", "")
