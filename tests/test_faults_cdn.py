"""The result link's download fails on its own (issue 12, part 7), against the real
simulator: a CDN 5xx, a reset or a short body is fetched again without calling the
generation again; when every fetch fails the image says so, billed as the gateway
billed it."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from imagestudio import catalog
from imagestudio.studio.models import Status
from imagestudio.studio.tasks import run_generation
from imagestudio.upstream.client import reset_client
from imagestudio.upstream.types import Outcome
from tests.factories import make_generation

pytestmark = pytest.mark.django_db
PRICE = catalog.gateway_price(catalog.ALL)


@pytest.fixture(autouse=True)
def _by_link(gateway, settings):
    settings.UPSTREAM_RESPONSE_FORMAT = "url"
    settings.DOWNLOAD_MAX_ATTEMPTS = 3
    reset_client()


def billed_by_simulator(base: str) -> int:
    health = httpx.get(base.removesuffix("/v1") + "/healthz", timeout=5).json()
    return int(health["billed_calls"])


@pytest.mark.parametrize(
    "fault", ["cdn-500x1", "cdn-resetx2", "cdn-shortx2"], ids=lambda f: f.split("x")[0]
)
def test_a_failed_download_is_fetched_again_without_a_second_generation(owner, gateway, fault):
    before = billed_by_simulator(gateway)
    generation = make_generation(owner, model=catalog.ALL, prompt=f"[sim:{fault}] a kite")
    assert run_generation(generation.pk) == "succeeded"
    generation.refresh_from_db()
    assert generation.status == Status.SUCCEEDED and generation.bytes > 0
    assert [(a.outcome, a.billed) for a in generation.attempt_rows.all()] == [(Outcome.IMAGE, True)]
    assert billed_by_simulator(gateway) - before == 1
    assert generation.cost_usd == PRICE


def test_a_link_that_never_downloads_fails_billed_and_says_so(owner, gateway):
    before = billed_by_simulator(gateway)
    generation = make_generation(owner, model=catalog.ALL, prompt="[sim:cdn-500] a kite")
    run_generation(generation.pk)
    generation.refresh_from_db()
    assert (generation.status, generation.error_code) == (Status.FAILED, "download_failed")
    assert "500" in generation.error_message
    assert generation.billed and generation.cost_usd == PRICE
    [row] = generation.attempt_rows.all()
    assert (row.outcome, row.billed, row.amount) == (Outcome.DOWNLOAD_FAILED, True, PRICE)
    # One generation at the gateway, billed once: the fetches were retried, not the call.
    assert billed_by_simulator(gateway) - before == 1
    assert Decimal(generation.cost_usd) == PRICE
