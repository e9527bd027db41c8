"""Rerouting within a budget (issue 20, part 6): a -vip 4K call that fails with a gateway
error goes to gpt-image-2.6-all at the same size at once, each route billed as the
gateway bills it; a content-safety verdict never moves; a budget without room stops the
hop; a failing route is skipped, then tried again with one request. Against the simulator
over HTTP, comparing the ledger with what the simulator received and billed."""

from __future__ import annotations

import json
import urllib.request
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from imagestudio import catalog
from imagestudio.routing import breaker, chains, hops
from imagestudio.routing.models import Chain, Circuit
from imagestudio.spend import budgets
from imagestudio.spend.models import Attempt, Budget
from imagestudio.studio.models import Generation, Status
from imagestudio.studio.tasks import run_generation
from imagestudio.upstream.client import reset_client
from imagestudio.upstream.types import AttemptRecord, Outcome
from tests.conftest import running_simulator
from tests.factories import make_attempt, make_generation

pytestmark = pytest.mark.django_db
NEW = "gpt-image-2.6-all"
POSTER_4K = "2160x3840"  # 9:16 at 4K: a size both routes take


def gateway_state(base: str) -> dict:
    with urllib.request.urlopen(base.removesuffix("/v1") + "/healthz", timeout=5) as response:
        return json.load(response)


def received(base: str, prompt: str) -> list[tuple[str, str | None]]:
    """(model, size) of every call the simulator received with this prompt, in order."""
    url = base.removesuffix("/v1") + "/_sim/received"
    with urllib.request.urlopen(url, timeout=5) as response:
        calls = json.load(response)["received"]
    return [(c["model"], c["size"]) for c in calls if c["prompt"] == prompt]


def billed_by_gateway(base: str) -> dict[str, Decimal]:
    return {m: Decimal(v) for m, v in gateway_state(base)["billed_by_model"].items()}


def ledger_by_route(generation: Generation) -> list[tuple[str, str, int | None, bool, Decimal]]:
    return [
        (a.model, a.outcome, a.http_status, a.billed, a.amount)
        for a in Attempt.objects.filter(generation=generation).order_by("number")
    ]


@pytest.fixture(autouse=True)
def default_chains(db):
    """The chains the data migration seeds (a test that flushes the database, elsewhere in
    the suite, removes them)."""
    for tier in ("2k", "4k"):
        Chain.objects.update_or_create(
            model=catalog.VIP,
            tier=tier,
            defaults={"fallbacks": [NEW], "allow_dearer": False, "min_success_rate": "0.50"},
        )
    chains.forget()


def point_at(settings, base: str) -> None:
    settings.UPSTREAM_BASE_URL = base
    settings.UPSTREAM_API_KEY = "sk-test"
    settings.UPSTREAM_RETRY_BASE_DELAY = 0
    settings.UPSTREAM_MAX_ATTEMPTS = 2
    reset_client()


@pytest.fixture(scope="module")
def failing_vip_4k():
    """Every -vip 4K call answers 504 (the November pattern, at its worst)."""
    with running_simulator("--latency", "0", "--fail-route", "gpt-image-2-vip:4k:1:504") as base:
        yield base


@pytest.fixture
def on_failing_vip(settings, failing_vip_4k):
    point_at(settings, failing_vip_4k)
    chains.forget()
    yield failing_vip_4k
    reset_client()


def test_a_vip_4k_504_goes_to_2_6_all_at_the_same_size_billed_once_per_hop(owner, on_failing_vip):
    before = billed_by_gateway(on_failing_vip)
    prompt = f"spring sale poster {uuid.uuid4()}"
    generation = make_generation(owner, size=POSTER_4K, prompt=prompt)
    assert run_generation(generation.pk) == "succeeded"
    generation.refresh_from_db()

    # Not retried on the failing route: the same request went to the next one at once.
    assert received(on_failing_vip, prompt) == [(catalog.VIP, POSTER_4K), (NEW, POSTER_4K)]

    assert generation.status == Status.SUCCEEDED
    assert (generation.model, generation.route) == (catalog.VIP, NEW)
    assert (generation.width, generation.height) == (2160, 3840)
    rows = ledger_by_route(generation)
    assert rows == [
        (catalog.VIP, "upstream_error", 504, False, Decimal("0")),
        (NEW, "image", 200, True, catalog.price(NEW)),
    ]
    # Numbered once across both routes.
    assert [a.number for a in generation.attempt_rows.order_by("number")] == [1, 2]
    after = billed_by_gateway(on_failing_vip)
    spent = {m: after.get(m, Decimal("0")) - before.get(m, Decimal("0")) for m in after}
    assert spent.get(catalog.VIP, Decimal("0")) == 0
    assert spent[NEW] == generation.cost_usd == catalog.price(NEW)
    assert [h["route"] for h in generation.hops] == [catalog.VIP, NEW]
    assert generation.hops[0]["outcome"] == "upstream_error" and generation.hops[0]["attempts"] == 1
    assert generation.route_note == (
        "made by gpt-image-2.6-all after gpt-image-2-vip failed once, not billed"
    )


def test_the_tile_the_page_and_the_api_say_what_made_the_image(owner, owner_client, on_failing_vip):
    generation = make_generation(owner, size=POSTER_4K)
    run_generation(generation.pk)
    said = "made by gpt-image-2.6-all after gpt-image-2-vip failed once, not billed"
    assert said in owner_client.get(f"/g/{generation.pk}/").content.decode()
    assert said in owner_client.get("/").content.decode()
    from django.test import RequestFactory

    from imagestudio.api.serializers import generation as g_shape

    data = g_shape(RequestFactory().get("/"), Generation.objects.get(pk=generation.pk))
    assert data.route == NEW
    assert [(h.route, h.outcome, h.attempts, h.cost_usd) for h in data.hops] == [
        (catalog.VIP, "upstream_error", 1, "0.00"),
        (NEW, "image", 1, "0.025"),
    ]


@pytest.mark.parametrize("trigger", ["moderation", "content-policy", "451"])
def test_a_content_safety_verdict_is_never_rerouted(owner, settings, gateway, trigger):
    before = billed_by_gateway(gateway)
    prompt = f"[sim:{trigger}] poster {uuid.uuid4()}"
    generation = make_generation(owner, size=POSTER_4K, prompt=prompt)
    run_generation(generation.pk)
    generation.refresh_from_db()
    calls = received(gateway, prompt) + received(gateway, prompt.replace(f"[sim:{trigger}] ", ""))
    assert calls and {model for model, _ in calls} == {catalog.VIP}
    assert generation.status in (Status.FAILED, Status.REFUSED)
    assert {a.model for a in generation.attempt_rows.all()} == {catalog.VIP}
    assert NEW not in billed_by_gateway(gateway) or billed_by_gateway(gateway)[NEW] == before.get(
        NEW
    )
    assert [h["route"] for h in generation.hops] == [catalog.VIP]
    assert generation.route_note == ""


def test_a_hop_a_budget_has_no_room_for_is_not_taken_and_the_image_says_why(owner, on_failing_vip):
    # 0.02 spent this month (the cap was lowered while the image ran); the image holds
    # back 0.03, its dearest route: 0.05 > 0.04.
    make_attempt(owner, "image", amount="0.02")
    Budget.put(Budget.Scope.USER, user=owner, cap=Decimal("0.04"))
    before = billed_by_gateway(on_failing_vip)
    generation = make_generation(owner, size=POSTER_4K)
    run_generation(generation.pk)
    generation.refresh_from_db()
    assert generation.status == Status.FAILED
    assert {a.model for a in generation.attempt_rows.all()} == {catalog.VIP}
    assert billed_by_gateway(on_failing_vip).get(NEW) == before.get(NEW)
    assert [(h["route"], h["outcome"]) for h in generation.hops] == [
        (catalog.VIP, "upstream_error"),
        (NEW, hops.OVER_BUDGET),
    ]
    assert generation.route_note == (
        "gpt-image-2-vip failed once, not billed; "
        "gpt-image-2.6-all not tried: it would have gone over your monthly budget"
    )


def test_a_failing_route_is_skipped_for_its_cool_down_then_tried_with_one_request(
    owner, settings, gateway
):
    chain = Chain.objects.get(model=catalog.VIP, tier="4k")
    Circuit.objects.create(
        model=catalog.VIP, tier="4k", state=Circuit.State.OPEN, changed_at=timezone.now()
    )
    skipped = make_generation(owner, size=POSTER_4K)
    run_generation(skipped.pk)
    skipped.refresh_from_db()
    assert skipped.status == Status.SUCCEEDED and skipped.route == NEW
    assert [a.model for a in skipped.attempt_rows.all()] == [NEW]
    assert [(h["route"], h["outcome"]) for h in skipped.hops] == [
        (catalog.VIP, hops.SKIPPED),
        (NEW, "image"),
    ]
    # The cool-down is over: one request tries -vip again; it works, so the route closes.
    Circuit.objects.update(changed_at=timezone.now() - timedelta(seconds=chain.cool_down_s + 1))
    probe = make_generation(owner, size=POSTER_4K)
    run_generation(probe.pk)
    probe.refresh_from_db()
    assert probe.route == catalog.VIP and [a.model for a in probe.attempt_rows.all()] == [
        catalog.VIP
    ]
    assert breaker.state_of(catalog.VIP, "4k") == Circuit.State.CLOSED


def test_a_budget_holds_back_the_dearest_route_a_chain_may_take(owner):
    official = catalog.OFFICIAL
    dearest = catalog.reserve_per_image(official, POSTER_4K)
    assert dearest > catalog.price(catalog.VIP)  # a dearer fallback
    Chain.objects.filter(model=catalog.VIP, tier="4k").update(
        fallbacks=[NEW, official], allow_dearer=True
    )
    chains.forget()
    make_generation(owner, size=POSTER_4K)
    budget = Budget.put(Budget.Scope.USER, user=owner, cap=Decimal("10"))
    assert budgets.standing(budget).reserved == dearest
    # Without staff's leave the dearer route is not in the chain, nor reserved.
    Chain.objects.filter(model=catalog.VIP, tier="4k").update(allow_dearer=False)
    chains.forget()
    assert chains.plan(catalog.VIP, POSTER_4K).routes == (catalog.VIP, NEW)
    assert budgets.standing(budget).reserved == catalog.price(catalog.VIP)


def test_a_dearer_fallback_staff_did_not_allow_is_not_taken_and_the_image_says_why(
    owner, on_failing_vip
):
    Chain.objects.filter(model=catalog.VIP, tier="4k").update(fallbacks=[catalog.OFFICIAL])
    chains.forget()
    prompt = f"campaign poster {uuid.uuid4()}"
    generation = make_generation(owner, size=POSTER_4K, prompt=prompt)
    run_generation(generation.pk)
    generation.refresh_from_db()
    assert generation.status == Status.FAILED
    assert {model for model, _ in received(on_failing_vip, prompt)} == {catalog.VIP}
    assert [(h["route"], h["outcome"]) for h in generation.hops] == [
        (catalog.VIP, "upstream_error"),
        (catalog.OFFICIAL, hops.NOT_ALLOWED),
    ]
    assert "gpt-image-2 not tried: it costs more than the model asked for" in (
        generation.route_note
    )


def gateway_504(number: int = 1) -> AttemptRecord:
    return AttemptRecord(
        number=number,
        endpoint=catalog.GENERATIONS,
        model=catalog.VIP,
        size_sent=POSTER_4K,
        http_status=504,
        request_id=f"req-{uuid.uuid4().hex}",
        latency_ms=6000,
        outcome=Outcome.UPSTREAM_ERROR,
        billed=False,
        amount=Decimal("0"),
    )


def test_a_hop_puts_the_failed_attempt_in_the_ledger_and_the_image_on_its_next_route(owner):
    generation = make_generation(owner, size=POSTER_4K)
    assert Generation.claim(generation.pk)
    generation.take_route(catalog.VIP, [])
    generation.mark_calling()
    assert Generation.objects.get(pk=generation.pk).route == catalog.VIP

    tried = {"route": catalog.VIP, "outcome": "upstream_error", "attempts": 1}
    assert generation.take_hop(gateway_504(), NEW, [tried]) is None

    row = Generation.objects.get(pk=generation.pk)
    assert (row.route, row.hops, row.attempts) == (NEW, [tried], 1)
    assert ledger_by_route(row) == [(catalog.VIP, "upstream_error", 504, False, Decimal("0"))]
    # The next route's call is marked as going out with the hop; its send adds no write.
    marked = row.calling_since
    assert marked is not None
    generation.mark_calling()
    assert Generation.objects.get(pk=generation.pk).calling_since == marked
    generation.mark_calling()  # a retry on the new route
    assert Generation.objects.get(pk=generation.pk).calling_since > marked


def test_a_hop_a_budget_has_no_room_for_leaves_the_image_on_its_route_with_its_attempt_written(
    owner,
):
    make_attempt(owner, "image", amount="0.02")
    Budget.put(Budget.Scope.USER, user=owner, cap=Decimal("0.04"))
    generation = make_generation(owner, size=POSTER_4K)
    assert Generation.claim(generation.pk)
    generation.take_route(catalog.VIP, [])

    full = generation.take_hop(gateway_504(), NEW, [])

    assert full is not None and full.scope == Budget.Scope.USER
    row = Generation.objects.get(pk=generation.pk)
    assert row.route == catalog.VIP
    assert [(h["route"], h["outcome"]) for h in row.hops] == [(NEW, hops.OVER_BUDGET)]
    assert [a.model for a in row.attempt_rows.all()] == [catalog.VIP]


def test_a_copy_of_the_image_that_took_no_route_never_writes_an_old_route_back(owner):
    worker = make_generation(owner, size=POSTER_4K)
    other = Generation.objects.get(pk=worker.pk)  # read before the worker moved on
    assert Generation.claim(worker.pk)
    worker.take_route(NEW, [{"route": catalog.VIP, "outcome": "upstream_error"}])
    worker.mark_calling()

    other.mark_calling()
    other.record_attempt(gateway_504())

    row = Generation.objects.get(pk=worker.pk)
    assert row.route == NEW and [h["route"] for h in row.hops] == [catalog.VIP]
