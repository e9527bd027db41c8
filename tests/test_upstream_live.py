"""The gateway client over real HTTP against the simulated gateway (no database)."""

from __future__ import annotations

import io
import uuid

import pytest
from PIL import Image

from imagestudio import catalog
from imagestudio.upstream import types as t
from imagestudio.upstream.client import GatewayClient
from tests.conftest import running_simulator

KEY = "sk-live-test-key"
VIP_1K = next(s.value for s in catalog.VIP_SIZES if s.tier == catalog.TIER_1K.id)
VIP_2K = catalog.DEFAULT_VIP_SIZE
VIP_4K = next(s.value for s in catalog.VIP_SIZES if s.tier == catalog.TIER_4K.id)
PHRASING = catalog.ALL_PHRASINGS[1].value


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture(scope="module")
def unprefixed_simulator_url():
    """The newer docs' gateway: raw base64 without the data URI prefix."""
    with running_simulator("--latency", "0", "--no-b64-prefix") as base:
        yield base


def client_for(base: str, **options) -> GatewayClient:
    settings = {
        "base_url": base,
        "api_key": KEY,
        "timeout": 30.0,
        "connect_timeout": 5.0,
        "max_attempts": 3,
        "retry_base_delay": 0.0,
        "response_format": "url",
        "download_timeout": 30.0,
        "sleep": Sleeps(),
        **options,
    }
    return GatewayClient(**settings)


def unique(prompt: str) -> str:
    # The simulator counts once-only faults per exact prompt, across the whole session.
    return f"{prompt} #{uuid.uuid4().hex[:8]}"


def pixels(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return image.size


@pytest.mark.parametrize("response_format", ["url", "b64_json"])
@pytest.mark.parametrize(
    ("model", "size"),
    [(catalog.VIP, VIP_1K), (catalog.VIP, VIP_2K), (catalog.ALL, PHRASING), (catalog.ALL, "")],
)
def test_happy_path_gives_the_exact_size(simulator_url, model, size, response_format):
    with client_for(simulator_url, response_format=response_format) as client:
        text = catalog.gateway_text(model, size, unique("a lighthouse at dusk"))
        result = client.generate(model=model, prompt=text, size=size)
    assert result.ok, result.failure
    assert pixels(result.image_bytes) == catalog.expected_resolution(model, size)
    record = result.final_attempt
    assert (record.outcome, record.billed, record.http_status) == (t.Outcome.IMAGE, True, 200)
    assert record.amount == catalog.price(model)
    assert record.request_id
    assert len(result.attempts) == 1 and not result.fell_back_to_2k


def test_raw_base64_from_the_newer_gateway(unprefixed_simulator_url):
    with client_for(unprefixed_simulator_url, response_format="b64_json") as client:
        result = client.generate(model=catalog.VIP, prompt=unique("a kite"), size=VIP_1K)
    assert result.ok
    assert pixels(result.image_bytes) == catalog.expected_resolution(catalog.VIP, VIP_1K)


def test_saturated_once_then_succeeds(simulator_url):
    reported: list[t.AttemptRecord] = []
    sleeps = Sleeps()
    with client_for(simulator_url, sleep=sleeps, retry_base_delay=0.01) as client:
        result = client.generate(
            model=catalog.ALL,
            prompt=unique("[sim:429x1] a harbour"),
            size=PHRASING,
            on_attempt=reported.append,
        )
    assert result.ok
    assert [a.outcome for a in result.attempts] == [t.Outcome.SATURATED, t.Outcome.IMAGE]
    assert reported == [result.attempts[0]]
    assert result.attempts[0].http_status == 429 and not result.attempts[0].billed
    assert result.attempts[0].request_id and result.final_attempt.request_id
    assert len(sleeps) == 1 and 0.005 <= sleeps[0] <= 0.01


def test_timeout_is_a_billed_timeout_record(simulator_url):
    with client_for(simulator_url, timeout=0.5, max_attempts=1) as client:
        result = client.generate(
            model=catalog.VIP, prompt=unique("[sim:timeout] a fox"), size=VIP_1K
        )
    assert not result.ok and result.failure.code == "timeout"
    record = result.final_attempt
    assert (record.outcome, record.billed, record.http_status) == (t.Outcome.TIMEOUT, True, None)
    assert record.amount == catalog.price(catalog.VIP)
    assert "billed" in result.failure.message


def test_4k_compute_failure_falls_back_to_2k(simulator_url):
    with client_for(simulator_url, response_format="b64_json") as client:
        result = client.generate(
            model=catalog.VIP, prompt=unique("[sim:4k-500] a wide valley"), size=VIP_4K
        )
    assert result.ok and result.fell_back_to_2k
    fallback = catalog.fallback_2k(VIP_4K)
    assert result.size_used == fallback
    assert pixels(result.image_bytes) == catalog.expected_resolution(catalog.VIP, fallback)
    assert [a.size_sent for a in result.attempts] == [VIP_4K, fallback]
    assert result.attempts[0].outcome == t.Outcome.UPSTREAM_ERROR and not result.attempts[0].billed


def test_write_failure_once_is_retried(simulator_url):
    with client_for(simulator_url) as client:
        result = client.generate(
            model=catalog.VIP, prompt=unique("[sim:write-failedx1] a boat"), size=VIP_1K
        )
    assert result.ok and len(result.attempts) == 2


@pytest.mark.parametrize(
    ("trigger", "code", "outcome", "billed"),
    [
        ("[sim:401]", "auth", t.Outcome.REJECTED, False),
        ("[sim:quota]", "quota", t.Outcome.REJECTED, False),
        ("[sim:moderation]", "moderation", t.Outcome.REJECTED, False),
        ("[sim:content-policy]", "content_policy", t.Outcome.CONTENT_POLICY, False),
        ("[sim:soft-refusal]", "soft_refusal", t.Outcome.SOFT_REFUSAL, True),
    ],
)
def test_final_answers_are_not_retried(simulator_url, trigger, code, outcome, billed):
    with client_for(simulator_url) as client:
        result = client.generate(model=catalog.ALL, prompt=unique(f"{trigger} a cat"), size="")
    assert not result.ok and result.failure.code == code
    # A soft refusal and a safety verdict end `refused`: the same prompt gets the same.
    assert result.failure.refused is (code in ("soft_refusal", "moderation"))
    assert len(result.attempts) == 1
    record = result.final_attempt
    assert (record.outcome, record.billed) == (outcome, billed)
    assert KEY not in record.error_message and KEY not in result.failure.message


def test_saturation_exhausts_the_attempts(simulator_url):
    with client_for(simulator_url, max_attempts=2) as client:
        result = client.generate(model=catalog.VIP, prompt=unique("[sim:429] a dog"), size=VIP_1K)
    assert result.failure.code == "saturated"
    assert [a.http_status for a in result.attempts] == [429, 429]


def test_corrupt_bytes_are_handed_over_for_the_caller_to_judge(simulator_url):
    with client_for(simulator_url) as client:
        result = client.generate(
            model=catalog.VIP, prompt=unique("[sim:corrupt] a cow"), size=VIP_1K
        )
    assert result.ok and result.image_bytes
    with pytest.raises(Exception):  # noqa: B017 - Pillow raises several kinds
        pixels(result.image_bytes)
