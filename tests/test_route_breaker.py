"""The route breaker (issue 20, part 7): a route below its success rate over its last N
calls is skipped for a cool-down, then tried again with exactly one request."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from imagestudio import catalog
from imagestudio.routing import breaker
from imagestudio.routing.models import Chain, Circuit
from tests.factories import make_attempt

pytestmark = pytest.mark.django_db
GO, PROBE, SKIP = breaker.Admission.GO, breaker.Admission.PROBE, breaker.Admission.SKIP


@pytest.fixture
def chain():
    return Chain.objects.update_or_create(
        model=catalog.VIP,
        tier="4k",
        defaults={
            "fallbacks": [],
            "min_success_rate": Decimal("0.5"),
            "window_calls": 4,
            "cool_down_s": 60,
        },
    )[0]


def fail(owner, chain, n: int = 1) -> None:
    """n failed calls of -vip 4K, each reported to the breaker as its worker would."""
    for _ in range(n):
        breaker.observe(catalog.VIP, "4k", chain, "upstream_error", probe=False)
        make_attempt(owner, "upstream_error", tier="4k", http_status=504)


def test_a_route_stays_closed_until_its_window_is_full_and_below_the_rate(owner, chain):
    make_attempt(owner, "image", tier="4k")
    make_attempt(owner, "image", tier="4k")
    fail(owner, chain, 2)  # 2 of 4 succeeded: at the rate, not below it
    assert breaker.admit(catalog.VIP, "4k", chain) is GO
    fail(owner, chain)  # the last four: 1 of 4
    assert breaker.state_of(catalog.VIP, "4k") == Circuit.State.OPEN
    assert breaker.admit(catalog.VIP, "4k", chain) is SKIP
    # Another tier of the same model is another route.
    assert breaker.admit(catalog.VIP, "2k", chain) is GO


def test_after_the_cool_down_exactly_one_request_probes_and_a_success_closes_it(owner, chain):
    fail(owner, chain, 4)
    later = timezone.now() + timedelta(seconds=61)
    assert breaker.admit(catalog.VIP, "4k", chain, now=later - timedelta(seconds=2)) is SKIP
    assert breaker.admit(catalog.VIP, "4k", chain, now=later) is PROBE
    assert breaker.admit(catalog.VIP, "4k", chain, now=later) is SKIP  # one probe at a time
    breaker.observe(catalog.VIP, "4k", chain, "image", probe=True)
    assert breaker.admit(catalog.VIP, "4k", chain) is GO
    # Closed afresh: the failures before it closed no longer count against it.
    fail(owner, chain, 3)
    assert breaker.admit(catalog.VIP, "4k", chain) is GO


def test_a_failed_probe_opens_it_for_another_cool_down(owner, chain):
    fail(owner, chain, 4)
    later = timezone.now() + timedelta(seconds=61)
    assert breaker.admit(catalog.VIP, "4k", chain, now=later) is PROBE
    breaker.observe(catalog.VIP, "4k", chain, "timeout", probe=True, now=later)
    assert breaker.admit(catalog.VIP, "4k", chain, now=later + timedelta(seconds=30)) is SKIP
    assert breaker.admit(catalog.VIP, "4k", chain, now=later + timedelta(seconds=61)) is PROBE


def test_a_probe_lost_with_its_worker_is_claimed_again_after_its_lease(owner, chain):
    fail(owner, chain, 4)
    later = timezone.now() + timedelta(seconds=61)
    assert breaker.admit(catalog.VIP, "4k", chain, now=later) is PROBE
    assert breaker.admit(catalog.VIP, "4k", chain, now=later + timedelta(seconds=600)) is SKIP
    after_lease = later + breaker.PROBE_LEASE + timedelta(seconds=1)
    assert breaker.admit(catalog.VIP, "4k", chain, now=after_lease) is PROBE


def test_a_prompt_s_refusal_neither_opens_nor_closes_a_route(owner, chain):
    for _ in range(4):
        breaker.observe(catalog.VIP, "4k", chain, "content_policy", probe=False)
        make_attempt(owner, "content_policy", tier="4k")
    assert breaker.state_of(catalog.VIP, "4k") == Circuit.State.CLOSED


def test_a_zero_rate_switches_the_breaker_off(owner, chain):
    chain.min_success_rate = Decimal("0")
    chain.save()
    fail(owner, chain, 6)
    assert breaker.admit(catalog.VIP, "4k", chain) is GO
    assert not Circuit.objects.exists()


def test_a_chain_names_catalog_models_each_once_and_never_its_own_route():
    from django.core.exceptions import ValidationError

    for fallbacks in (["no-such-model"], [catalog.VIP], ["gpt-image-2.6-all"] * 2, "x"):
        chain = Chain(model=catalog.VIP, tier="1k", fallbacks=fallbacks)
        with pytest.raises(ValidationError) as refused:
            chain.clean()
        assert "fallbacks" in refused.value.message_dict
    Chain(model=catalog.VIP, tier="1k", fallbacks=["gpt-image-2.6-all"]).clean()


def test_a_staff_change_to_a_chain_is_audited_and_applies_at_once(admin_client_):
    from imagestudio.audit.models import AuditEntry
    from imagestudio.routing import chains

    chain = Chain.objects.update_or_create(
        model=catalog.VIP, tier="2k", defaults={"fallbacks": ["gpt-image-2.6-all"]}
    )[0]
    chains.forget()
    assert chains.plan(catalog.VIP, "2048x2048").routes == (catalog.VIP, "gpt-image-2.6-all")
    response = admin_client_.post(
        f"/admin/routing/chain/{chain.pk}/change/",
        {
            "model": catalog.VIP,
            "tier": "2k",
            "fallbacks": "[]",
            "min_success_rate": "0.40",
            "window_calls": "10",
            "cool_down_s": "120",
        },
    )
    assert response.status_code == 302
    entry = AuditEntry.objects.filter(object_type="fallback_chain").latest("id")
    assert entry.before["fallbacks"] == ["gpt-image-2.6-all"] and entry.after["fallbacks"] == []
    assert chains.plan(catalog.VIP, "2048x2048").routes == (catalog.VIP,)
