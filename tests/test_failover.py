"""Alternate gateway domains (issue 12, part 4), against a real closed port and the real
simulator server: a base that provably never got the request is failed over at once,
unbilled and outside the retry budget; anything after the request was sent never is."""

from __future__ import annotations

from decimal import Decimal

import pytest

from imagestudio import catalog
from imagestudio.studio.models import Status
from imagestudio.studio.tasks import run_generation
from imagestudio.upstream.client import (
    UNREACHABLE_SKIP_SECONDS,
    UNREACHABLE_STRIKES,
    GatewayClient,
    reset_client,
    split_base_urls,
)
from imagestudio.upstream.types import Outcome

from .conftest import free_port, running_simulator
from .factories import make_generation

pytestmark = pytest.mark.django_db


@pytest.fixture
def closed() -> str:
    """A base on a port nothing listens on: connection refused, before anything is sent."""
    return f"http://127.0.0.1:{free_port()}/v1"


@pytest.fixture
def bases(settings, gateway):
    def use(*urls: str) -> None:
        settings.UPSTREAM_BASE_URL = ",".join(urls)
        reset_client()

    yield use
    reset_client()


def rows(generation) -> list[tuple[str, bool]]:
    return [(a.outcome, a.billed) for a in generation.attempt_rows.order_by("number")]


def test_the_setting_is_a_comma_separated_list_in_order():
    assert split_base_urls(" https://a/v1/ , https://b/v1,") == ["https://a/v1", "https://b/v1"]
    with pytest.raises(ValueError):
        split_base_urls(" , ")


def test_an_unreachable_first_base_fails_over_at_once_unbilled(owner, settings, bases, closed):
    settings.UPSTREAM_MAX_ATTEMPTS = 1  # the failover does not use up the only try
    bases(closed, settings.UPSTREAM_BASE_URL)
    generation = make_generation(owner, size="1280x720")
    assert run_generation(generation.pk) == "succeeded"
    generation.refresh_from_db()
    assert rows(generation) == [(Outcome.UNREACHABLE, False), (Outcome.IMAGE, True)]
    unreachable = generation.attempt_rows.get(outcome=Outcome.UNREACHABLE)
    assert unreachable.amount == 0 and "127.0.0.1" in unreachable.error_message
    assert generation.cost_usd == catalog.price(catalog.VIP)


def test_every_base_unreachable_fails_unbilled_saying_to_check_the_network(
    owner, settings, bases, closed
):
    settings.UPSTREAM_MAX_ATTEMPTS = 2
    bases(closed, f"http://127.0.0.1:{free_port()}/v1")
    generation = make_generation(owner)
    run_generation(generation.pk)
    generation.refresh_from_db()
    assert (generation.status, generation.error_code) == (Status.FAILED, "gateway_unreachable")
    assert rows(generation) == [(Outcome.UNREACHABLE, False)] * 4
    assert not generation.billed and generation.cost_usd == Decimal("0")
    assert "check the network" in generation.error_message
    assert "Nothing was billed" in generation.error_message


def test_a_base_unreachable_three_times_in_a_row_is_skipped_for_a_minute(simulator_url, closed):
    now = [1000.0]
    client = GatewayClient(
        f"{closed},{simulator_url}",
        "sk-test",
        retry_base_delay=0,
        clock=lambda: now[0],
    )

    def outcomes() -> list[str]:
        result = client.generate(model=catalog.ALL, prompt="a fox", size="")
        assert result.ok
        return [a.outcome for a in result.attempts]

    with client:
        for _ in range(UNREACHABLE_STRIKES):
            assert outcomes() == [Outcome.UNREACHABLE, Outcome.IMAGE]
        assert outcomes() == [Outcome.IMAGE]  # skipped: straight to the second base
        now[0] += UNREACHABLE_SKIP_SECONDS
        assert outcomes() == [Outcome.UNREACHABLE, Outcome.IMAGE]  # tried again


def test_a_read_timeout_is_never_failed_over(owner, settings, bases):
    settings.UPSTREAM_MAX_ATTEMPTS = 1
    settings.UPSTREAM_TIMEOUT = 1.0
    with running_simulator("--latency", "0") as second:
        bases(settings.UPSTREAM_BASE_URL, second)
        # 1K: no fallback route at this size, so only the bases are in question.
        generation = make_generation(owner, prompt="[sim:timeout] x", size="1280x720")
        run_generation(generation.pk)
    generation.refresh_from_db()
    # The first base got the request and may bill it: no second call anywhere.
    assert rows(generation) == [(Outcome.TIMEOUT, True)]
    assert generation.error_code == "timeout"


def test_a_gateway_error_after_the_request_was_sent_is_retried_on_the_same_base(
    owner, settings, bases, closed
):
    settings.UPSTREAM_MAX_ATTEMPTS = 3
    bases(settings.UPSTREAM_BASE_URL, closed)
    generation = make_generation(owner, prompt="[sim:429x2] fail over? no", size="1280x720")
    run_generation(generation.pk)
    generation.refresh_from_db()
    assert rows(generation) == [
        (Outcome.SATURATED, False),
        (Outcome.SATURATED, False),
        (Outcome.IMAGE, True),
    ]
