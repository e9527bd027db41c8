"""The studio form and the catalog's routes: only the options a model takes are offered,
a token route shows its estimate, and anything else is refused with no image made."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from imagestudio import catalog
from imagestudio.spend import money
from imagestudio.spend.models import RouteSetting
from imagestudio.studio.models import Generation

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


def sizes(client, **query) -> str:
    response = client.get(reverse("studio:sizes"), query, **HX)
    assert response.status_code == 200
    return response.content.decode()


def feedback(client, **data) -> str:
    """What the form's feedback check draws (cost line, estimate, budget hint)."""
    data = {"prompt": "a kite", "count": "1", **data}
    response = client.post(reverse("studio:check"), data, **HX)
    assert response.status_code == 200
    return response.content.decode()


def selected(html: str, name: str) -> str | None:
    block = re.search(rf'<select name="{name}".*?</select>', html, re.S)
    if block is None:
        return None
    chosen = re.search(r'<option value="([^"]*)" selected[ >]', block.group(0))
    return chosen.group(1) if chosen else ""


def test_the_official_route_offers_its_quality_tiers_and_an_estimate(owner_client):
    html = sizes(owner_client, model=catalog.OFFICIAL)
    assert selected(html, "quality") == "medium"
    assert selected(html, "background") == "" and selected(html, "output_format") == ""
    assert '<option value="webp">' in html
    assert "fallback_2k" not in html
    low, high = catalog.estimate_range(catalog.OFFICIAL, "1024x1024", "medium")
    line = feedback(owner_client, model=catalog.OFFICIAL)
    assert f"about {money.usd(low)} to {money.usd(high)} per image" in line
    # A bigger size at a higher quality is estimated again when chosen.
    html = sizes(owner_client, model=catalog.OFFICIAL, size="3840x2160", quality="high")
    assert selected(html, "quality") == "high" and selected(html, "size") == "3840x2160"
    _, high_4k = catalog.estimate_range(catalog.OFFICIAL, "3840x2160", "high")
    line = feedback(owner_client, model=catalog.OFFICIAL, size="3840x2160", quality="high")
    assert money.usd(high_4k) in line


def test_routes_without_options_offer_none(owner_client):
    vip = sizes(owner_client, model=catalog.VIP)
    assert selected(vip, "quality") is None
    assert "data-estimate" not in feedback(owner_client, model=catalog.VIP)
    all_26 = sizes(owner_client, model=catalog.ALL_26)
    assert selected(all_26, "quality") is None
    assert selected(all_26, "output_format") == ""
    assert '<option value="webp">' not in all_26 and '<option value="jpeg">' in all_26
    assert '<option value="3840x2160" selected>' not in all_26
    assert '<option value="1024x1024" selected>' in all_26


def test_the_form_sends_the_options_a_route_takes(
    owner_client, owner, django_capture_on_commit_callbacks
):
    data = {
        "prompt": "a fox",
        "model": catalog.OFFICIAL,
        "size": "1536x1024",
        "quality": "high",
        "output_format": "webp",
        "count": "1",
    }
    with django_capture_on_commit_callbacks(execute=False):
        response = owner_client.post(reverse("studio:generate"), data, **HX)
    assert response.status_code == 200
    g = Generation.objects.get(user=owner)
    assert (g.model, g.size, g.quality, g.output_format, g.size_tier) == (
        catalog.OFFICIAL,
        "1536x1024",
        "high",
        "webp",
        "1k",
    )


def test_an_option_the_route_does_not_take_is_refused_with_no_image(owner_client, owner):
    data = {"prompt": "a fox", "model": catalog.VIP, "size": "2048x2048", "quality": "high"}
    response = owner_client.post(reverse("studio:generate"), {**data, "count": "1"}, **HX)
    assert "does not take quality" in response.content.decode()
    assert not Generation.objects.exists()


def test_a_switched_off_model_is_not_offered_and_is_refused(owner_client):
    RouteSetting.objects.create(model=catalog.ALL_26, enabled=False)
    home = owner_client.get(reverse("studio:home")).content.decode()
    model_select = re.search(r'<select name="model".*?</select>', home, re.S)
    assert model_select is not None
    assert catalog.ALL_26 not in model_select.group(0)
    assert catalog.OFFICIAL in model_select.group(0)
    data = {"prompt": "a kite", "model": catalog.ALL_26, "size": "1024x1024", "count": "1"}
    response = owner_client.post(reverse("studio:generate"), data, **HX)
    assert "switched off by an admin" in response.content.decode()
    assert not Generation.objects.exists()


def test_the_own_ledger_shows_tokens_where_there_are_any(owner_client, owner):
    import csv
    import io

    from imagestudio.spend.models import Attempt

    common = {"user": owner, "endpoint": catalog.GENERATIONS, "latency_ms": 900, "number": 1}
    Attempt.objects.create(
        **common,
        model=catalog.OFFICIAL,
        size_sent="1024x1024",
        outcome="image",
        billed=True,
        amount=catalog.token_cost(
            catalog.OFFICIAL, text_tokens=12, image_tokens=0, output_tokens=1750
        ),
        quality="medium",
        text_tokens=12,
        image_tokens=0,
        output_tokens=1750,
        request_id="tok-1",
    )
    Attempt.objects.create(
        **common,
        model=catalog.VIP,
        size_sent="2048x2048",
        outcome="image",
        billed=True,
        amount=catalog.gateway_price(catalog.VIP),
        request_id="call-1",
    )
    page = owner_client.get(reverse("spend:mine")).content.decode()
    assert "12 + 0 → 1750" in page and "$0.05256" in page
    export = owner_client.get(reverse("spend:mine"), {"format": "csv"})
    text = b"".join(export.streaming_content).decode("utf-8-sig")
    rows = {r["Request id"]: r for r in csv.DictReader(io.StringIO(text))}
    assert rows["tok-1"]["Output tokens"] == "1750" and rows["tok-1"]["Quality"] == "medium"
    assert rows["tok-1"]["Amount (USD)"] == "0.05256"
    assert rows["call-1"]["Output tokens"] == "" and rows["call-1"]["Amount (USD)"] == "0.0300"
