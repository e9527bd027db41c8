"""Route health from the ledger (issue 20, part 7): success rate and latency per route and
size tier over the last hour and day, in the form, on the spend page and in /metrics."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from imagestudio import catalog
from imagestudio.routing import health
from tests.factories import make_attempt

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_table():
    health.forget()
    yield
    health.forget()


def vip_4k_rows(user) -> None:
    """-vip 4K: 20 calls in the last hour, 9 of them images (latencies 100..180 s), plus
    10 failures earlier today; prompts' refusals and lost workers besides."""
    for i in range(9):
        make_attempt(user, "image", tier="4k", latency=100_000 + i * 10_000)
    for _ in range(6):
        make_attempt(user, "upstream_error", tier="4k", latency=300_000, http_status=504)
    for _ in range(5):
        make_attempt(user, "timeout", tier="4k", latency=600_000)
    earlier = timezone.now() - timedelta(hours=5)
    for _ in range(10):
        make_attempt(user, "upstream_error", tier="4k", latency=1_000, when=earlier)
    # Not the route's doing: left out of its numbers.
    make_attempt(user, "content_policy", tier="4k")
    make_attempt(user, "soft_refusal", tier="4k")
    make_attempt(user, "lost", tier="4k")
    make_attempt(user, "unreachable", tier="4k")
    # Older than a day: out of both windows.
    make_attempt(user, "image", tier="4k", when=timezone.now() - timedelta(days=2))


def test_health_counts_the_route_s_calls_per_window_and_the_latency_of_its_images(owner):
    vip_4k_rows(owner)
    make_attempt(owner, "image", tier="2k", latency=40_000)
    table = health.compute()
    vip_4k = table[catalog.VIP, "4k"]
    assert (vip_4k.hour.calls, vip_4k.hour.succeeded) == (20, 9)
    assert (vip_4k.day.calls, vip_4k.day.succeeded) == (30, 9)
    assert vip_4k.hour.rate == pytest.approx(0.45)
    # Nearest rank over 100, 110, ..., 180 s: the 5th and the 9th.
    assert (vip_4k.hour.p50_s, vip_4k.hour.p95_s) == (140.0, 180.0)
    assert (vip_4k.day.p50_s, vip_4k.day.p95_s) == (140.0, 180.0)
    assert table[catalog.VIP, "2k"].hour == health.Window(1, 1, 40.0, 40.0)


def test_health_reads_the_ledger_in_one_query_and_then_from_the_cache(
    owner, django_assert_num_queries
):
    vip_4k_rows(owner)
    with django_assert_num_queries(1):
        first = health.table()
    make_attempt(owner, "image", tier="4k")
    with django_assert_num_queries(0):
        assert health.table() == first
    health.forget()
    assert health.of(catalog.VIP, "4k").hour.calls == 21


def test_the_form_says_how_the_model_s_routes_did_beside_the_model(owner, owner_client):
    vip_4k_rows(owner)
    page = owner_client.get("/", {"model": catalog.VIP}).content.decode()
    assert "gpt-image-2-vip 4K: 9 of 20 succeeded in the last hour" in page


def test_the_form_says_it_in_chinese(owner, owner_client):
    vip_4k_rows(owner)
    owner_client.cookies["django_language"] = "zh-hans"
    page = owner_client.get(
        "/", {"model": catalog.VIP}, headers={"accept-language": "zh-hans"}
    ).content.decode()
    assert "gpt-image-2-vip 4K：最近一小时 20 次调用中 9 次成功" in page


def test_the_staff_spend_page_lists_every_route_s_health(owner, admin_client_):
    vip_4k_rows(owner)
    page = admin_client_.get("/spend/").content.decode()
    row = page.split(f'data-route="{catalog.VIP} 4k"', 1)[1].split("</tr>", 1)[0]
    assert "9 of 20 (45%)" in row and "9 of 30 (30%)" in row
    assert "140 s / 180 s" in row


def test_metrics_carry_each_route_s_health(owner, admin_client_):
    vip_4k_rows(owner)
    text = admin_client_.get("/metrics").content.decode()
    got = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    hour = (("model", catalog.VIP), ("tier", "4k"), ("window", "hour"))
    assert got["imagestudio_route_calls", hour] == 20
    assert got["imagestudio_route_success_ratio", hour] == pytest.approx(0.45)
    assert got["imagestudio_route_latency_p95_seconds", hour] == 180.0


def test_a_route_being_skipped_is_said_in_the_form_and_on_the_spend_page(
    owner, owner_client, admin_client_
):
    from imagestudio.routing.models import Circuit

    vip_4k_rows(owner)
    Circuit.objects.create(
        model=catalog.VIP, tier="4k", state=Circuit.State.OPEN, changed_at=timezone.now()
    )
    form = owner_client.get("/", {"model": catalog.VIP}).content.decode()
    assert "gpt-image-2-vip 4K is failing: its calls go to the fallback for now" in form
    page = admin_client_.get("/spend/").content.decode()
    row = page.split(f'data-route="{catalog.VIP} 4k"', 1)[1].split("</tr>", 1)[0]
    assert "skipped to its fallback" in row


def test_the_models_api_carries_each_route_s_health(owner, client):
    from imagestudio.routing.models import Circuit
    from tests.factories import bearer, make_token

    vip_4k_rows(owner)
    Circuit.objects.create(
        model=catalog.VIP, tier="4k", state=Circuit.State.OPEN, changed_at=timezone.now()
    )
    _token, raw = make_token(owner)
    listed = client.get("/api/v1/models", headers=bearer(raw)).json()["results"]
    vip = next(m for m in listed if m["id"] == catalog.VIP)
    [four_k] = [h for h in vip["health"] if h["tier"] == "4k"]
    assert four_k["hour"] == {
        "calls": 20,
        "succeeded": 9,
        "success_rate": 0.45,
        "p50_s": 140.0,
        "p95_s": 180.0,
    }
    assert four_k["day"]["calls"] == 30 and four_k["skipped"] is True
