"""The simulated gateway, over real HTTP: the protocol, the triggers, the fault flags."""

from __future__ import annotations

import base64
import io
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import openai
import pytest
from PIL import Image, UnidentifiedImageError

from imagestudio import catalog
from imagestudio.simulator import triggers
from imagestudio.simulator.config import parse_args
from imagestudio.simulator.store import FileStore
from tests.conftest import ROOT, running_simulator

VIP, ALL = catalog.VIP, catalog.ALL
PREFIX = "data:image/png;base64,"


# -- helpers and fixtures -------------------------------------------------------------------


def unique(prompt: str) -> str:
    """Once-only counters are per prompt and the session server is shared: be unique."""
    return f"{prompt} #{uuid.uuid4().hex[:8]}"


def post(
    base: str,
    body: dict[str, Any],
    *,
    token: str = "sk-simulated",
    path: str = "images/generations",
    timeout: float = 30.0,
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.post(f"{base}/{path}", json=body, headers=headers, timeout=timeout)


def generate(base: str, **body: Any) -> httpx.Response:
    return post(base, body)


def decode_b64(value: str) -> Image.Image:
    raw = value.removeprefix(PREFIX)
    return Image.open(io.BytesIO(base64.b64decode(raw, validate=True)))


def fetch_image(url: str) -> Image.Image:
    response = httpx.get(url, timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    return Image.open(io.BytesIO(response.content))


def error_of(response: httpx.Response) -> dict[str, Any]:
    return response.json()["error"]


def held(base: str, prompt: str) -> list[float]:
    """The seconds the simulator held each call with this prompt (as sent) by design: the
    pacing it applied, which a loaded machine cannot stretch or shrink."""
    answer = httpx.get(f"{base.removesuffix('/v1')}/_sim/received", timeout=10)
    return [row["held_s"] for row in answer.json()["received"] if row["prompt"] == prompt]


def in_flight(base: str) -> tuple[int, int]:
    state = httpx.get(f"{base.removesuffix('/v1')}/healthz", timeout=10).json()
    return state["in_flight"], state["peak_in_flight"]


def assert_request_ids(response: httpx.Response) -> None:
    assert response.headers["request-id"]
    assert response.headers["request-id"] == response.headers["x-request-id"]


@pytest.fixture(scope="module")
def tweaked_url() -> Iterator[str]:
    """Raw b64, 1-second links, 1-second timeout hold, and every 4K -vip call failing."""
    with running_simulator(
        "--latency",
        "0",
        "--no-b64-prefix",
        "--url-ttl",
        "1",
        "--timeout-hold",
        "1",
        "--fault-4k-500",
        "1",
    ) as base:
        yield base


@pytest.fixture(scope="module")
def saturated_url() -> Iterator[str]:
    with running_simulator("--latency", "0", "--fault-429", "1", "--seed", "7") as base:
        yield base


@pytest.fixture(scope="module")
def slow_url() -> Iterator[str]:
    with running_simulator("--latency", "1") as base:
        yield base


# -- basics ---------------------------------------------------------------------------------


def test_healthz_answers_json(simulator_url):
    response = httpx.get(simulator_url.removesuffix("/v1") + "/healthz", timeout=5)
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert_request_ids(response)


def test_unknown_endpoint_is_404_with_request_ids(simulator_url):
    response = post(simulator_url, {"model": VIP, "prompt": "x"}, path="images/variations")
    assert response.status_code == 404
    assert_request_ids(response)


def test_help_lists_flags_and_triggers():
    result = subprocess.run(
        [sys.executable, "-m", "imagestudio.simulator", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0
    for text in ("--fault-4k-500", "--no-b64-prefix", "--url-ttl", "[sim:429x2]", "[sim:corrupt]"):
        assert text in result.stdout


def test_a_rate_outside_0_1_is_refused_at_start():
    result = subprocess.run(
        [sys.executable, "-m", "imagestudio.simulator", "--fault-429", "2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "between 0 and 1" in result.stderr


# -- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": VIP, "size": "1024x1024"}, "size"),
        ({"model": VIP, "size": catalog.DEFAULT_VIP_SIZE.upper()}, "size"),
        ({"model": VIP, "size": catalog.DEFAULT_VIP_SIZE, "quality": "high"}, "quality"),
        ({"model": VIP, "size": catalog.DEFAULT_VIP_SIZE, "n": 1}, "n"),
        ({"model": VIP, "n": None}, "n"),
        ({"model": ALL, "size": catalog.DEFAULT_VIP_SIZE}, "size"),
        ({"model": ALL, "n": 1}, "n"),
        ({"model": ALL, "quality": "high"}, "quality"),
        ({"model": ALL, "aspect_ratio": "16:9"}, "aspect_ratio"),
        ({"model": ALL, "response_format": "png"}, "response_format"),
        ({"model": ALL, "stream": True}, "stream"),
        ({"model": "gpt-image-1"}, "model"),
    ],
)
def test_validation_is_a_400(simulator_url, body, param):
    response = post(simulator_url, {"prompt": "a lighthouse", **body})
    assert response.status_code == 400
    error = error_of(response)
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert_request_ids(response)


@pytest.mark.parametrize("prompt", [None, "", "   "])
def test_a_prompt_is_required(simulator_url, prompt):
    body = {"model": VIP} if prompt is None else {"model": VIP, "prompt": prompt}
    response = post(simulator_url, body)
    assert response.status_code == 400
    assert error_of(response)["param"] == "prompt"


def test_a_body_that_is_not_json_is_a_400(simulator_url):
    response = httpx.post(
        f"{simulator_url}/images/generations",
        content=b"model=gpt-image-2-vip",
        headers={"Authorization": "Bearer x", "Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 400


@pytest.mark.parametrize("authorization", [None, "Bearer", "Basic c2s6eA==", "sk-no-scheme"])
def test_missing_token_is_a_401(simulator_url, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}
    response = httpx.post(
        f"{simulator_url}/images/generations",
        json={"model": VIP, "prompt": "x"},
        headers=headers,
        timeout=10,
    )
    assert response.status_code == 401
    assert "无效的令牌" in error_of(response)["message"]
    assert_request_ids(response)


def test_any_non_empty_token_is_accepted(simulator_url):
    response = post(simulator_url, {"model": ALL, "prompt": "x"}, token="anything")
    assert response.status_code == 200


# -- images ---------------------------------------------------------------------------------


def test_every_vip_size_comes_back_exact(simulator_url):
    for size in catalog.VIP_SIZES:
        response = generate(simulator_url, model=VIP, prompt="a harbour", size=size.value)
        assert response.status_code == 200, size.value
        body = response.json()
        assert set(body) >= {"created", "data", "usage"}
        assert set(body["usage"]) == {"input_tokens", "output_tokens", "total_tokens"}
        assert fetch_image(body["data"][0]["url"]).size == (size.width, size.height)


@pytest.mark.parametrize("body", [{"size": "auto"}, {}])
def test_vip_auto_or_no_size_draws_the_default(simulator_url, body):
    response = generate(simulator_url, model=VIP, prompt="x", **body)
    expected = catalog.expected_resolution(VIP, catalog.DEFAULT_VIP_SIZE)
    assert fetch_image(response.json()["data"][0]["url"]).size == expected


def test_url_is_the_default_response_format(simulator_url):
    response = generate(simulator_url, model=ALL, prompt="x")
    assert list(response.json()["data"][0]) == ["url"]
    assert_request_ids(response)


def test_b64_is_prefixed_by_default(simulator_url):
    size = catalog.VIP_SIZES_BY_VALUE["1280x720"]
    response = generate(
        simulator_url, model=VIP, prompt="x", size=size.value, response_format="b64_json"
    )
    value = response.json()["data"][0]["b64_json"]
    assert value.startswith(PREFIX)
    image = decode_b64(value)
    assert image.format == "PNG"
    assert image.size == (size.width, size.height)


def test_b64_is_raw_with_no_b64_prefix(tweaked_url):
    size = catalog.VIP_SIZES_BY_VALUE["848x1280"]
    response = generate(
        tweaked_url, model=VIP, prompt="x", size=size.value, response_format="b64_json"
    )
    value = response.json()["data"][0]["b64_json"]
    assert not value.startswith("data:")
    assert decode_b64(value).size == (size.width, size.height)


@pytest.mark.parametrize("phrasing", catalog.ALL_PHRASINGS, ids=lambda p: p.english)
def test_all_takes_its_size_from_the_leading_phrasing(simulator_url, phrasing):
    prompt = catalog.prompt_for_gateway(ALL, phrasing.value, "a red bicycle")
    response = generate(simulator_url, model=ALL, prompt=prompt, response_format="b64_json")
    image = decode_b64(response.json()["data"][0]["b64_json"])
    assert image.size == (phrasing.width, phrasing.height)


@pytest.mark.parametrize(
    "prompt",
    ["a red bicycle", f"a red bicycle, {catalog.ALL_PHRASINGS[0].value}"],
    ids=["no phrasing", "phrasing not at the start"],
)
def test_all_without_a_leading_phrasing_uses_the_default(simulator_url, prompt):
    response = generate(simulator_url, model=ALL, prompt=prompt)
    image = fetch_image(response.json()["data"][0]["url"])
    assert image.size == catalog.ALL_DEFAULT_RESOLUTION


def test_a_trigger_before_the_phrasing_does_not_hide_it(simulator_url):
    phrasing = catalog.ALL_PHRASINGS[1]
    prompt = "[sim:latency=0] " + catalog.prompt_for_gateway(ALL, phrasing.value, "a kite")
    response = generate(simulator_url, model=ALL, prompt=prompt)
    assert fetch_image(response.json()["data"][0]["url"]).size == (phrasing.width, phrasing.height)


def test_a_4k_png_with_a_long_prompt_is_drawn_at_its_size(simulator_url):
    # How fast it is drawn is bench s's row (python -m bench s), not a timed test.
    response = generate(simulator_url, model=VIP, prompt="x " * 500, size="3840x2160")
    assert response.status_code == 200
    assert fetch_image(response.json()["data"][0]["url"]).size == (3840, 2160)


def test_unknown_file_is_404(simulator_url):
    response = httpx.get(f"{simulator_url.removesuffix('/v1')}/files/{uuid.uuid4()}.png")
    assert response.status_code == 404


def test_links_expire(tweaked_url):
    response = generate(tweaked_url, model=ALL, prompt="x")
    url = response.json()["data"][0]["url"]
    assert httpx.get(url, timeout=5).status_code == 200
    time.sleep(1.3)
    assert httpx.get(url, timeout=5).status_code == 404


def test_file_store_evicts_the_oldest_past_its_cap():
    now = [0.0]
    store = FileStore(10, max_files=2, clock=lambda: now[0])
    first, second, third = (store.put(bytes([i])) for i in range(3))
    assert store.get(first) is None
    assert store.get(second) == b"\x01"
    assert store.get(third) == b"\x02"
    now[0] = 10.0
    assert store.get(third) is None
    assert len(store) == 1


# -- triggers -------------------------------------------------------------------------------

ERROR_TRIGGERS = [
    ("[sim:401]", 401, "new_api_error", ""),
    ("[sim:quota]", 403, "new_api_error", "insufficient_user_quota"),
    ("[sim:moderation]", 400, "invalid_request_error", "moderation_blocked"),
    ("[sim:429]", 429, "new_api_error", None),
    ("[sim:500]", 500, "new_api_error", "bad_response_status_code"),
    ("[sim:content-policy]", 500, "invalid_request_error", None),
    ("[sim:write-failed]", 500, "new_api_error", "write_response_body_failed"),
]


@pytest.mark.parametrize(("trigger", "status", "kind", "code"), ERROR_TRIGGERS)
def test_error_triggers(simulator_url, trigger, status, kind, code):
    response = generate(simulator_url, model=ALL, prompt=unique(f"a cat {trigger}"))
    assert response.status_code == status
    error = error_of(response)
    assert (error["type"], error["code"]) == (kind, code)
    assert_request_ids(response)


def test_messages_of_the_gateway_are_kept(simulator_url):
    saturated = generate(simulator_url, model=VIP, prompt=unique("[sim:429]"))
    assert "当前分组上游负载已饱和，请稍后再试" in error_of(saturated)["message"]
    policy = error_of(generate(simulator_url, model=VIP, prompt=unique("[sim:content-policy]")))
    assert policy["message"].startswith("Image was not generated as expected.")
    assert "(traceid: " in policy["message"]
    assert policy["localized_message"] == "Unknown error"
    denied = error_of(generate(simulator_url, model=VIP, prompt=unique("[sim:401]")))
    assert denied["message"].startswith("无效的令牌")


def test_401_trigger_comes_before_validation(simulator_url):
    response = generate(simulator_url, model=VIP, prompt=unique("[sim:401]"), size="1x1")
    assert response.status_code == 401


def test_4k_500_trigger_fails_only_the_4k_size(simulator_url):
    prompt = unique("a skyline [sim:4k-500]")
    failed = generate(simulator_url, model=VIP, prompt=prompt, size="3840x2160")
    assert failed.status_code == 500
    body = failed.json()
    assert body["status_code"] == 500
    assert body["error"]["type"] == "invalid_request_error"
    assert_request_ids(failed)
    fallback = catalog.fallback_2k("3840x2160")
    retried = generate(simulator_url, model=VIP, prompt=prompt, size=fallback)
    assert retried.status_code == 200


def test_4k_500_fault_rate_spares_2k(tweaked_url):
    failed = generate(tweaked_url, model=VIP, prompt="x", size="2880x2880")
    assert failed.status_code == 500
    assert failed.json()["status_code"] == 500
    assert generate(tweaked_url, model=VIP, prompt="x", size="2048x2048").status_code == 200
    assert generate(tweaked_url, model=ALL, prompt="x").status_code == 200


def test_429_fault_rate(saturated_url):
    response = generate(saturated_url, model=ALL, prompt="x")
    assert response.status_code == 429
    assert "饱和" in error_of(response)["message"]


@pytest.mark.parametrize("response_format", ["url", "b64_json"])
def test_soft_refusal_is_a_200_without_an_image(simulator_url, response_format):
    response = generate(
        simulator_url,
        model=VIP,
        prompt=unique("[sim:soft-refusal] a celebrity"),
        response_format=response_format,
    )
    assert response.status_code == 200
    body = response.json()
    assert body["data"] == []
    assert "can't" in body["message"]
    assert_request_ids(response)


def test_corrupt_url_is_not_an_image(simulator_url):
    response = generate(simulator_url, model=ALL, prompt=unique("[sim:corrupt] x"))
    assert response.status_code == 200
    download = httpx.get(response.json()["data"][0]["url"], timeout=5)
    assert download.status_code == 200
    with pytest.raises(UnidentifiedImageError):
        Image.open(io.BytesIO(download.content))


def test_corrupt_b64_is_not_an_image(simulator_url):
    response = generate(
        simulator_url, model=ALL, prompt=unique("[sim:corrupt] x"), response_format="b64_json"
    )
    with pytest.raises(UnidentifiedImageError):
        decode_b64(response.json()["data"][0]["b64_json"])


def test_timeout_outlasts_the_client(simulator_url):
    with pytest.raises(httpx.ReadTimeout):
        post(simulator_url, {"model": ALL, "prompt": unique("[sim:timeout]")}, timeout=0.5)


def test_timeout_closes_without_an_answer(tweaked_url):
    prompt = unique("[sim:timeout]")
    with pytest.raises(httpx.RemoteProtocolError):
        post(tweaked_url, {"model": ALL, "prompt": prompt}, timeout=30)
    # Held for --timeout-hold 1, then closed.
    assert held(tweaked_url, prompt) == [1.0]


def test_latency_trigger(simulator_url):
    prompt = unique("[sim:latency=0.5] x")
    started = time.monotonic()
    response = generate(simulator_url, model=ALL, prompt=prompt)
    assert response.status_code == 200
    assert held(simulator_url, prompt) == [0.5]
    # A lower bound only: load can make the answer later, never earlier.
    assert time.monotonic() - started >= 0.5


def test_unknown_trigger_is_a_400(simulator_url):
    response = generate(simulator_url, model=ALL, prompt="[sim:42] x")
    assert response.status_code == 400
    assert "[sim:42]" in error_of(response)["message"]


def test_trigger_tokens_are_parsed_and_removed():
    parsed = triggers.parse(
        "[SIM:LATENCY=0.25] 横版 16:9, a fox [sim:429x2]  [sim:corrupt] [sim:nope]"
    )
    assert parsed.clean_prompt == "横版 16:9, a fox"
    assert parsed.latency == 0.25
    assert parsed.faults == {"429": 2, "corrupt": None}
    assert parsed.unknown == ("[sim:nope]",)
    assert triggers.parse("[sim:4k-500x3]").faults == {"4k-500": 3}


def test_latency_flags():
    assert parse_args([]).latency_min < parse_args([]).latency_max
    fixed = parse_args(["--latency", "0.5", "--latency-min", "3"])
    assert (fixed.latency_min, fixed.latency_max) == (0.5, 0.5)
    ranged = parse_args(["--latency-min", "0.1", "--latency-max", "0.2", "--no-b64-prefix"])
    assert (ranged.latency_min, ranged.latency_max, ranged.b64_prefix) == (0.1, 0.2, False)
    with pytest.raises(SystemExit):
        parse_args(["--latency-min", "3", "--latency-max", "1"])


# -- once-only counters ---------------------------------------------------------------------


def test_once_only_429_fails_the_first_two_then_succeeds(simulator_url):
    prompt = unique("[sim:429x2] a fox")
    statuses = [generate(simulator_url, model=ALL, prompt=prompt).status_code for _ in range(4)]
    assert statuses == [429, 429, 200, 200]


def test_once_only_counters_are_per_prompt(simulator_url):
    first, second = unique("[sim:500x1] a"), unique("[sim:500x1] a")
    assert generate(simulator_url, model=ALL, prompt=first).status_code == 500
    assert generate(simulator_url, model=ALL, prompt=second).status_code == 500
    assert generate(simulator_url, model=ALL, prompt=first).status_code == 200


def test_once_only_faults_chain(simulator_url):
    prompt = unique("[sim:429x1] [sim:content-policyx1] a")
    statuses = [generate(simulator_url, model=ALL, prompt=prompt).status_code for _ in range(3)]
    assert statuses == [429, 500, 200]


def test_once_only_4k_500_counts_only_4k_calls(simulator_url):
    prompt = unique("[sim:4k-500x1] a")
    assert generate(simulator_url, model=VIP, prompt=prompt, size="2048x2048").status_code == 200
    assert generate(simulator_url, model=VIP, prompt=prompt, size="3840x2160").status_code == 500
    assert generate(simulator_url, model=VIP, prompt=prompt, size="3840x2160").status_code == 200


# -- concurrency ----------------------------------------------------------------------------


def test_parallel_requests_overlap():
    """Ten calls held a minute each are all in the simulator at once (its own in-flight
    counter says so); how long ten parallel calls take is bench s's row."""
    pool = ThreadPoolExecutor(max_workers=10)
    try:
        with running_simulator("--latency", "0") as base:

            def one(index: int) -> int:
                prompt = unique(f"[sim:latency=60] parallel {index}")
                body = {"model": VIP, "prompt": prompt, "size": "1280x720"}
                return post(base, body, timeout=120).status_code

            calls = [pool.submit(one, index) for index in range(10)]
            # Ends when all ten are in at once, or when one call ends first (served one at
            # a time, the first ends after its minute; a refused one at once, with its
            # error below): no clock decides it.
            while in_flight(base)[0] < 10 and not any(call.done() for call in calls):
                time.sleep(0.05)
            ended = [call.result() for call in calls if call.done()]
            assert ended == [] and in_flight(base) == (10, 10)
            # Leaving the block stops the simulator, which ends the held calls.
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def test_pre_generation_refusals_skip_the_latency(slow_url):
    refused, invalid, drawn = unique("[sim:429]"), unique("x"), unique("y")
    assert generate(slow_url, model=ALL, prompt=refused).status_code == 429
    assert generate(slow_url, model=VIP, prompt=invalid, size="1x1").status_code == 400
    assert generate(slow_url, model=ALL, prompt=drawn).status_code == 200
    assert (held(slow_url, refused), held(slow_url, invalid)) == ([0.0], [0.0])
    assert held(slow_url, drawn) == [1.0]


# -- chat -----------------------------------------------------------------------------------


def chat(base: str, model: str, content: Any, **extra: Any) -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": content}], **extra}
    return post(base, body, path="chat/completions")


def test_chat_all_answers_markdown_image(simulator_url):
    phrasing = catalog.ALL_PHRASINGS[4]
    prompt = catalog.prompt_for_gateway(ALL, phrasing.value, "a tram")
    response = chat(simulator_url, ALL, [{"type": "text", "text": prompt}])
    assert response.status_code == 200
    content = response.json()["choices"][0]["message"]["content"]
    assert content.startswith("![image](") and content.endswith(")")
    assert fetch_image(content[len("![image](") : -1]).size == (phrasing.width, phrasing.height)
    assert_request_ids(response)


def test_chat_vip_answers_a_chat_completion_by_default(simulator_url):
    # The Images shape of the older -vip page is behind --chat-vip-images-shape.
    response = chat(simulator_url, VIP, "a tram")
    content = response.json()["choices"][0]["message"]["content"]
    assert content.startswith("![image](") and content.endswith(")")
    assert fetch_image(content[len("![image](") : -1]).size == catalog.expected_resolution(
        VIP, catalog.DEFAULT_VIP_SIZE
    )


def test_chat_soft_refusal_is_text(simulator_url):
    response = chat(simulator_url, ALL, unique("[sim:soft-refusal] x"))
    assert response.status_code == 200
    content = response.json()["choices"][0]["message"]["content"]
    assert "![" not in content and "can't" in content


def test_chat_rejects_streaming_and_missing_user_message(simulator_url):
    assert chat(simulator_url, ALL, "x", stream=True).status_code == 400
    empty = post(simulator_url, {"model": ALL, "messages": []}, path="chat/completions")
    assert empty.status_code == 400


# -- the official SDK -----------------------------------------------------------------------


def test_official_openai_sdk_generates(simulator_url):
    client = openai.OpenAI(base_url=simulator_url, api_key="sk-simulated", max_retries=0)
    result = client.images.with_raw_response.generate(
        model=VIP, prompt="a lighthouse", size="2048x2048", response_format="b64_json"
    )
    assert result.headers["x-request-id"]
    images = result.parse()
    assert decode_b64(images.data[0].b64_json).size == (2048, 2048)
    assert images.usage is not None and images.usage.total_tokens > 0
    with pytest.raises(openai.RateLimitError):
        client.images.generate(model=ALL, prompt=unique("[sim:429]"))


def test_a_route_latency_flag_paces_that_route_only():
    with running_simulator("--latency", "0", "--route-latency", "gpt-image-2-all:0.6") as base:
        paced = {}
        for model in (ALL, VIP):
            prompt = unique("a kite")
            body = {"model": model, "prompt": prompt, "response_format": "b64_json"}
            if model == VIP:
                body["size"] = "1280x720"
            assert post(base, body).status_code == 200
            paced[model] = held(base, prompt)
    assert paced == {ALL: [0.6], VIP: [0.0]}
