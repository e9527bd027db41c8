"""The simulator speaks every route of the catalog: sizes, n, quality, usage, masks, the
official route's refusal of response_format, and the newer failures (over HTTP)."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from PIL import Image

from imagestudio import catalog
from imagestudio.simulator.config import parse_args
from tests.conftest import running_simulator
from tests.test_simulator import error_of, generate, post, unique

KEY = {"Authorization": "Bearer sk-simulated"}


def png(size: tuple[int, int], mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, (10, 20, 30, 0) if mode == "RGBA" else (10, 20, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def edit(base: str, fields: dict[str, str], files: list[tuple[str, Any]]) -> httpx.Response:
    return httpx.post(f"{base}/images/edits", data=fields, files=files, headers=KEY, timeout=30)


def health(base: str) -> dict[str, Any]:
    return httpx.get(base.removesuffix("/v1") + "/healthz", timeout=5).json()


@pytest.fixture(scope="module")
def failing_url() -> Iterator[str]:
    with running_simulator(
        "--latency", "0", "--fail-route", "gpt-image-2-vip:4k:1:504", "--seed", "3"
    ) as base:
        yield base


def test_the_26_all_route_takes_its_sizes_n_background_and_format(simulator_url):
    before = Decimal(health(simulator_url)["billed_usd"])
    ok = generate(
        simulator_url,
        model=catalog.ALL_26,
        prompt=unique("poster"),
        size="3840x2160",
        n=3,
        background="opaque",
        output_format="jpeg",
        response_format="url",
    )
    assert ok.status_code == 200 and len(ok.json()["data"]) == 3
    # n images are n billed images.
    assert Decimal(health(simulator_url)["billed_usd"]) - before == Decimal("0.075")
    for field, value in (
        ("size", "1920x1080"),
        ("quality", "high"),
        ("output_format", "webp"),
        ("n", 5),
    ):
        body = {"model": catalog.ALL_26, "prompt": "x", "size": "1024x1024", field: value}
        bad = generate(simulator_url, **body)
        assert bad.status_code == 400 and error_of(bad)["param"] == field


def test_the_official_route_refuses_response_format_and_answers_raw_b64_with_usage(
    simulator_url,
):
    refused = generate(
        simulator_url, model=catalog.OFFICIAL, prompt="x", size="1024x1024", response_format="url"
    )
    assert refused.status_code == 400
    assert error_of(refused)["code"] == "unknown_parameter"
    assert error_of(refused)["param"] == "response_format"
    answers = {}
    for quality in ("low", "high"):
        answer = generate(
            simulator_url, model=catalog.OFFICIAL, prompt="a fox", size="1536x1024", quality=quality
        )
        assert answer.status_code == 200
        item = answer.json()["data"][0]["b64_json"]
        assert not item.startswith("data:")
        assert Image.open(io.BytesIO(base64.b64decode(item))).size == (1536, 1024)
        answers[quality] = answer.json()["usage"]
    assert answers["low"]["output_tokens"] < answers["high"]["output_tokens"]
    assert set(answers["low"]["input_tokens_details"]) == {"text_tokens", "image_tokens"}
    assert answers["low"]["output_tokens"] == catalog.expected_output_tokens(
        catalog.OFFICIAL, "1536x1024", "low"
    )


def test_the_official_route_checks_free_sizes_and_has_no_chat(simulator_url):
    good = generate(simulator_url, model=catalog.OFFICIAL, prompt="x", size="1920x1088")
    assert good.status_code == 200
    bad = generate(simulator_url, model=catalog.OFFICIAL, prompt="x", size="1920x1080")
    assert bad.status_code == 400 and error_of(bad)["param"] == "size"
    chat = post(
        simulator_url,
        {"model": catalog.OFFICIAL, "messages": [{"role": "user", "content": "a cat"}]},
        path="chat/completions",
    )
    assert chat.status_code == 400 and error_of(chat)["param"] == "model"


def test_a_mask_must_be_a_png_with_alpha_the_size_of_image_1(simulator_url):
    fields = {"model": catalog.OFFICIAL, "prompt": "repaint the sky", "size": "1024x1024"}
    image = ("image", ("a.png", png((64, 48)), "image/png"))
    good = edit(
        simulator_url, fields, [image, ("mask", ("m.png", png((64, 48), "RGBA"), "image/png"))]
    )
    assert good.status_code == 200, good.text
    assert good.json()["usage"]["input_tokens_details"]["image_tokens"] > 0
    no_alpha = edit(simulator_url, fields, [image, ("mask", ("m.png", png((64, 48)), "image/png"))])
    assert no_alpha.status_code == 400 and error_of(no_alpha)["param"] == "mask"
    wrong = edit(
        simulator_url, fields, [image, ("mask", ("m.png", png((32, 32), "RGBA"), "image/png"))]
    )
    assert wrong.status_code == 400 and "same dimensions" in error_of(wrong)["message"]


@pytest.mark.parametrize(
    ("trigger", "status", "code"),
    [
        ("[sim:504]", 504, "gateway_timeout"),
        ("[sim:503]", 503, "service_unavailable"),
        ("[sim:451]", 451, "image_safety"),
    ],
)
def test_the_newer_failures_answer_as_the_gateway_does_and_are_not_billed(
    simulator_url, trigger, status, code
):
    before = health(simulator_url)["billed_calls"]
    answer = generate(
        simulator_url, model=catalog.VIP, prompt=unique(f"{trigger} a cat"), size="2048x2048"
    )
    assert answer.status_code == status and error_of(answer)["code"] == code
    assert health(simulator_url)["billed_calls"] == before


def test_a_route_can_fail_a_share_of_its_calls_at_one_tier(failing_url):
    four_k = generate(failing_url, model=catalog.VIP, prompt=unique("a"), size="3840x2160")
    assert four_k.status_code == 504
    two_k = generate(failing_url, model=catalog.VIP, prompt=unique("a"), size="2048x2048")
    assert two_k.status_code == 200
    other = generate(failing_url, model=catalog.ALL_26, prompt=unique("a"), size="3840x2160")
    assert other.status_code == 200
    assert health(failing_url)["billed_by_model"] == {
        catalog.VIP: "0.03",
        catalog.ALL_26: "0.025",
    }


def test_the_fail_route_flag_is_parsed_and_checked():
    config = parse_args(["--fail-route", "gpt-image-2-vip:4k:0.5:504"])
    (fault,) = config.fail_routes
    assert (fault.model, fault.tier, fault.share, fault.status) == (catalog.VIP, "4k", 0.5, 504)
    with pytest.raises(SystemExit):
        parse_args(["--fail-route", "gpt-image-2-vip:8k:0.5:504"])
    with pytest.raises(SystemExit):
        parse_args(["--fail-route", "gpt-image-2-vip:4k:0.5:500"])
