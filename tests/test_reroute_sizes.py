"""A fallback that does not make the size asked for (gpt-image-2.6-all has no 2336×3520,
the -vip 2:3 4K size) is not taken, and the image says why on its tile, its page and in
the API's `hops`; the wording is routing.messages'."""

from __future__ import annotations

import uuid

import pytest
from django.test import RequestFactory

from imagestudio import catalog
from imagestudio.api.serializers import generation as g_shape
from imagestudio.routing import chains, hops
from imagestudio.routing.models import Chain
from imagestudio.studio.models import Generation, Status
from imagestudio.studio.tasks import run_generation
from tests.factories import make_generation
from tests.test_rerouting import (  # noqa: F401  (fixtures, used by name)
    NEW,
    default_chains,
    failing_vip_4k,
    ledger_by_route,
    on_failing_vip,
    received,
)

pytestmark = pytest.mark.django_db
PORTRAIT_4K = "2336x3520"  # -vip's 2:3 at 4K: not one of gpt-image-2.6-all's sizes
SAID = "gpt-image-2.6-all not tried: it does not make 2336×3520"


def test_the_size_is_one_the_fallback_does_not_make():
    assert catalog.valid_size(catalog.VIP, PORTRAIT_4K)
    assert not catalog.valid_size(NEW, PORTRAIT_4K)
    plan = chains.plan(catalog.VIP, PORTRAIT_4K)
    assert (plan.routes, plan.unfit) == ((catalog.VIP,), (NEW,))


def test_a_fallback_without_the_size_is_not_taken_and_the_image_says_why(
    owner,
    owner_client,
    on_failing_vip,  # noqa: F811
):
    prompt = f"portrait poster {uuid.uuid4()}"
    generation = make_generation(owner, size=PORTRAIT_4K, prompt=prompt)
    assert run_generation(generation.pk) != "succeeded"
    generation.refresh_from_db()
    assert generation.status == Status.FAILED
    # Nothing went to the route that could not make it: -vip was the only route, so it
    # was retried there instead.
    assert received(on_failing_vip, prompt) == [(catalog.VIP, PORTRAIT_4K)] * 2
    assert [row[0] for row in ledger_by_route(generation)] == [catalog.VIP] * 2
    assert [(h["route"], h["outcome"]) for h in generation.hops] == [
        (catalog.VIP, "upstream_error"),
        (NEW, hops.SIZE_NOT_MADE),
    ]
    assert generation.route_note == f"gpt-image-2-vip failed twice, not billed; {SAID}"
    assert SAID in owner_client.get(f"/g/{generation.pk}/").content.decode()
    assert SAID in owner_client.get("/").content.decode()
    data = g_shape(RequestFactory().get("/"), Generation.objects.get(pk=generation.pk))
    assert [(h.route, h.outcome, h.attempts, h.reason) for h in data.hops] == [
        (catalog.VIP, "upstream_error", 2, None),
        (NEW, hops.SIZE_NOT_MADE, 0, SAID),
    ]


def test_the_reason_is_said_in_chinese(owner, client, on_failing_vip):  # noqa: F811
    generation = make_generation(owner, size=PORTRAIT_4K)
    run_generation(generation.pk)
    client.force_login(owner)
    page = client.get(f"/g/{generation.pk}/", headers={"Accept-Language": "zh-hans"})
    note = page.content.decode().split("data-route-note>", 1)[1].split("<", 1)[0]
    assert "2336×3520" in note and "gpt-image-2.6-all" in note
    assert "not tried" not in note and "does not make" not in note


def test_the_nearest_size_keeps_the_framing_first():
    # 2:3 at 4K: gpt-image-2.6-all makes 2:3 only at 1K; 3:4 would change the framing.
    assert catalog.nearest_size(NEW, PORTRAIT_4K) == "1024x1536"
    assert catalog.nearest_size(NEW, "3840x1632") == "3840x2160"  # 21:9 → 16:9, at 4K
    assert catalog.nearest_size(NEW, "2880x2880") == "2880x2880"
    # A route whose size is a phrasing has no list to choose from.
    assert catalog.nearest_size(catalog.ALL, PORTRAIT_4K) is None


@pytest.fixture
def size_change_allowed(default_chains):  # noqa: F811
    Chain.objects.filter(model=catalog.VIP, tier="4k").update(allow_size_change=True)
    chains.forget()
    yield
    chains.forget()


def test_where_staff_allow_it_the_fallback_makes_its_nearest_size_and_says_so(
    owner,
    size_change_allowed,
    on_failing_vip,  # noqa: F811
):
    plan = chains.plan(catalog.VIP, PORTRAIT_4K)
    assert plan.routes == (catalog.VIP, NEW) and plan.size_for(NEW) == "1024x1536"
    prompt = f"portrait poster {uuid.uuid4()}"
    generation = make_generation(owner, size=PORTRAIT_4K, prompt=prompt)
    assert run_generation(generation.pk) == "succeeded"
    generation.refresh_from_db()
    assert received(on_failing_vip, prompt) == [
        (catalog.VIP, PORTRAIT_4K),
        (NEW, "1024x1536"),
    ]
    assert (generation.route, generation.width, generation.height) == (NEW, 1024, 1536)
    assert generation.size == PORTRAIT_4K  # what was asked for stays on the image
    assert generation.route_note == (
        "made by gpt-image-2.6-all at 1024×1536 after gpt-image-2-vip failed once, not billed"
    )
    data = g_shape(RequestFactory().get("/"), Generation.objects.get(pk=generation.pk))
    assert [(h.route, h.size, h.reason) for h in data.hops] == [
        (catalog.VIP, None, None),
        (NEW, "1024x1536", None),
    ]


def test_changing_the_size_rule_is_audited(default_chains):  # noqa: F811
    from imagestudio.audit.models import AuditEntry

    chain = Chain.objects.get(model=catalog.VIP, tier="4k")
    chain.allow_size_change = True
    chain.save()
    entry = AuditEntry.objects.filter(object_type="fallback_chain").latest("id")
    assert (entry.before["allow_size_change"], entry.after["allow_size_change"]) == (False, True)


def test_a_chat_turn_is_never_rerouted_even_to_a_fallback_with_a_chat_endpoint():
    """docs/gateway.md, "Chat turns": -all has a chat endpoint but makes none of -vip's
    sizes; the chains' usual fallbacks make them but have no chat endpoint."""
    Chain.objects.filter(model=catalog.VIP, tier="2k").update(fallbacks=[catalog.ALL, NEW])
    chains.forget()
    assert catalog.accepts_endpoint(catalog.ALL, catalog.CHAT)
    assert not catalog.accepts_endpoint(NEW, catalog.CHAT)
    assert not catalog.accepts_endpoint(catalog.OFFICIAL, catalog.CHAT)
    turn = chains.plan(catalog.VIP, "2048x1152", catalog.CHAT)
    assert (turn.routes, turn.unfit, turn.dearer) == ((catalog.VIP,), (), ())
    image = chains.plan(catalog.VIP, "2048x1152")
    assert (image.routes, image.unfit) == ((catalog.VIP, NEW), (catalog.ALL,))
