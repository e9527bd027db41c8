"""The gateway client against scripted answers (httpx.MockTransport): one test per quirk."""

from __future__ import annotations

import base64
import json
import logging
import threading
from collections.abc import Callable
from decimal import Decimal

import httpx
import pytest

from imagestudio import catalog
from imagestudio.upstream import client as client_module
from imagestudio.upstream import types as t
from imagestudio.upstream.client import GatewayClient, get_client, reset_client

BASE = "https://gateway.test/v1"
KEY = "sk-test-5ecret-KEY-never-shown"
PNG = b"\x89PNG\r\n\x1a\n" + b"fake image bytes " * 8
PRICE = catalog.gateway_price(catalog.VIP)
VIP_2K = catalog.DEFAULT_VIP_SIZE
# 1K: the client's own backoff; at 2K and 4K a -vip 429 waits as the gateway advises.
VIP_1K = next(s.value for s in catalog.VIP_SIZES if s.tier == catalog.TIER_1K.id)
VIP_4K = next(s.value for s in catalog.VIP_SIZES if s.tier == catalog.TIER_4K.id)
VIP_4K_FALLBACK = catalog.fallback_2k(VIP_4K)
PHRASING = catalog.ALL_PHRASINGS[0].value

SATURATED_BODY = {
    "error": {"message": "当前分组上游负载已饱和，请稍后再试", "type": "new_api_error"}
}
CONTENT_POLICY_BODY = {
    "error": {
        "message": "Image was not generated as expected. Please adjust the prompt and retry "
        "(traceid: 0123456789abcdef)",
        "type": "invalid_request_error",
        "code": None,
    }
}
VIP_4K_BODY = {
    "status_code": 500,
    "error": {"message": "upstream compute fluctuation", "type": "invalid_request_error"},
}

Handler = Callable[[httpx.Request], httpx.Response]


class Gateway:
    """Answers generation POSTs from a script (the last entry repeats) and serves files."""

    def __init__(self, *answers: httpx.Response | Exception | Handler) -> None:
        self.answers = list(answers) or [image_b64()]
        self.posts: list[httpx.Request] = []
        self.gets: list[httpx.Request] = []
        self.files: dict[str, list[httpx.Response | Exception]] = {}

    def serve(self, url: str, *answers: httpx.Response | Exception) -> None:
        self.files[url] = list(answers)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            self.gets.append(request)
            script = self.files[str(request.url)]
            answer = script.pop(0) if len(script) > 1 else script[0]
        else:
            self.posts.append(request)
            index = min(len(self.posts), len(self.answers)) - 1
            answer = self.answers[index]
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, httpx.Response) and hasattr(answer, "_content"):
            # A fresh copy per request: scripted answers repeat.
            answer = httpx.Response(
                answer.status_code, headers=answer.headers, content=answer.content
            )
        if callable(answer) and not isinstance(answer, httpx.Response):
            return answer(request)
        return answer

    def bodies(self) -> list[dict]:
        return [json.loads(r.content) for r in self.posts]


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def image_b64(prefix: bool = True, **headers: str) -> httpx.Response:
    data = base64.b64encode(PNG).decode()
    if prefix:
        data = "data:image/png;base64," + data
    return httpx.Response(200, json={"created": 1, "data": [{"b64_json": data}]}, headers=headers)


def image_url(url: str) -> httpx.Response:
    return httpx.Response(200, json={"created": 1, "data": [{"url": url}]})


def error(status: int, body: dict | str, **headers: str) -> httpx.Response:
    if isinstance(body, str):
        return httpx.Response(status, text=body, headers=headers)
    return httpx.Response(status, json=body, headers=headers)


def make(gateway: Gateway, **options) -> tuple[GatewayClient, Sleeps]:
    sleeps = Sleeps()
    settings = {
        "base_url": BASE,
        "api_key": KEY,
        "max_attempts": 3,
        "retry_base_delay": 2.0,
        "response_format": "b64_json",
        "transport": httpx.MockTransport(gateway),
        "sleep": sleeps,
        "rng": lambda: 0.5,
        **options,
    }
    return GatewayClient(**settings), sleeps


def run(gateway: Gateway, *, model=catalog.VIP, size=VIP_2K, prompt="a red fox", **options):
    allow_fallback = options.pop("allow_fallback", True)
    on_attempt = options.pop("on_attempt", None)
    fields = {k: options.pop(k) for k in ("quality", "background", "output_format") if k in options}
    client, sleeps = make(gateway, **options)
    result = client.generate(
        model=model,
        prompt=prompt,
        size=size,
        allow_fallback=allow_fallback,
        on_attempt=on_attempt,
        **fields,
    )
    return result, sleeps


# -- the request ---------------------------------------------------------------------


def test_vip_request_sends_model_prompt_format_and_size_only():
    gateway = Gateway()
    result, _ = run(gateway, model=catalog.VIP, size=VIP_2K, prompt="a red fox")
    assert result.ok and result.image_bytes == PNG
    (request,) = gateway.posts
    assert str(request.url) == f"{BASE}/images/generations"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert json.loads(request.content) == {
        "model": catalog.VIP,
        "prompt": "a red fox",
        "response_format": "b64_json",
        "size": VIP_2K,
    }


@pytest.mark.parametrize("phrasing", [PHRASING, ""])
def test_all_request_has_no_size_n_quality_and_sends_the_text_it_is_given(phrasing):
    gateway = Gateway()
    text = catalog.gateway_text(catalog.ALL, phrasing, "a red fox")
    result, _ = run(gateway, model=catalog.ALL, size=phrasing, prompt=text)
    assert result.ok
    body = gateway.bodies()[0]
    assert set(body) == {"model", "prompt", "response_format"}
    # The caller built the text (phrasing first): the client adds nothing to it.
    assert body["prompt"] == text
    assert body["prompt"].startswith(phrasing)
    assert result.final_attempt.size_sent == ""
    assert result.size_used == phrasing


@pytest.mark.parametrize("response_format", ["url", "b64_json"])
def test_response_format_is_always_sent(response_format):
    gateway = Gateway()
    run(gateway, response_format=response_format)
    assert gateway.bodies()[0]["response_format"] == response_format


@pytest.mark.parametrize(
    ("model", "size"),
    [
        (catalog.VIP, "1920x1080"),
        (catalog.VIP, "auto"),
        (catalog.VIP, ""),
        (catalog.VIP, "2048X2048"),
        (catalog.ALL, VIP_2K),
        (catalog.ALL, "16:9"),
        ("dall-e-3", ""),
    ],
)
def test_sizes_outside_the_catalog_raise_before_any_call(model, size):
    gateway = Gateway()
    client, _ = make(gateway)
    with pytest.raises(ValueError):
        client.generate(model=model, prompt="a fox", size=size)
    assert gateway.posts == []


def test_timeouts_follow_the_settings():
    seen: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return image_b64()

    run(Gateway(handler), timeout=123.0, connect_timeout=4.0)
    assert seen[0]["read"] == 123.0
    assert seen[0]["connect"] == 4.0


def test_staffs_timeout_is_read_before_on_send_gives_the_database_connection_back():
    # on_send's caller returns its connection to the pool for the wait; an override read
    # after it took one again and held it through the call (bench i: calls queued on a
    # pool of 10).
    events: list[str] = []

    def overrides() -> dict:
        events.append("overrides")
        return {}

    def handler(request: httpx.Request) -> httpx.Response:
        events.append("post")
        return image_b64()

    client, _ = make(Gateway(handler))
    catalog.use_overrides(overrides)
    client.generate(
        model=catalog.VIP, prompt="a red fox", size=VIP_2K, on_send=lambda: events.append("send")
    )
    waited = events[events.index("send") : events.index("post")]
    assert "overrides" in events[: events.index("send")]
    assert waited == ["send"]


def test_as_many_calls_reach_the_gateway_at_once_as_there_are_threads():
    # The gateway answers none until all of them are in: a connection cap under the
    # worker's thread count would leave some queued in the client, and none would end.
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    threads = 80
    arrived = threading.Barrier(threads + 1)
    body = image_b64().content

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            arrived.wait(timeout=60)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    class Server(ThreadingHTTPServer):
        # The default backlog of 5 drops the other SYNs of 80 connections opened at
        # once; their retransmits back off past the barrier's wait on a loaded machine.
        request_queue_size = threads
        daemon_threads = True

    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    client = GatewayClient(
        base_url=f"http://127.0.0.1:{server.server_port}/v1",
        api_key=KEY,
        max_attempts=1,
        response_format="b64_json",
    )
    results: list[bool] = []

    def call() -> None:
        result = client.generate(model=catalog.VIP, prompt="a red fox", size=VIP_2K)
        results.append(result.image_bytes == PNG)

    callers = [threading.Thread(target=call) for _ in range(threads)]
    try:
        for caller in callers:
            caller.start()
        arrived.wait(timeout=60)
        for caller in callers:
            caller.join(60)
    finally:
        server.shutdown()
        client.close()
    assert results == [True] * threads


# -- answers -------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", [True, False])
def test_b64_with_or_without_data_uri_prefix(prefix):
    result, _ = run(Gateway(image_b64(prefix=prefix)))
    assert result.ok and result.image_bytes == PNG
    record = result.final_attempt
    assert (record.outcome, record.billed, record.amount) == (t.Outcome.IMAGE, True, PRICE)
    assert record.http_status == 200 and record.error_code == ""


def test_b64_without_padding_is_accepted():
    data = base64.b64encode(PNG[:10]).decode().rstrip("=")
    answer = httpx.Response(200, json={"data": [{"b64_json": data}]})
    result, _ = run(Gateway(answer))
    assert result.image_bytes == PNG[:10]


def test_undecodable_b64_is_a_billed_bad_response():
    answer = httpx.Response(200, json={"data": [{"b64_json": "not base64 !!!"}]})
    result, _ = run(Gateway(answer))
    assert not result.ok
    assert result.failure.code == "bad_response"
    assert result.final_attempt.outcome == t.Outcome.BAD_IMAGE and result.final_attempt.billed
    assert len(result.attempts) == 1
    assert result.final_attempt.note == "answer_not_decodable"


def test_an_unexpected_status_is_noted_as_a_key_and_its_number():
    result, _ = run(Gateway(httpx.Response(304)))
    assert result.final_attempt.note == "answer_unexpected_status"
    assert result.final_attempt.note_params == {"status": 304}


@pytest.mark.parametrize("header", ["request-id", "x-request-id"])
def test_request_id_from_either_header(header):
    result, _ = run(Gateway(image_b64(**{header: "req-42"})))
    assert result.final_attempt.request_id == "req-42"


def test_request_id_falls_back_to_the_trace_id_in_the_message():
    result, _ = run(Gateway(error(500, CONTENT_POLICY_BODY)))
    assert result.final_attempt.request_id == "0123456789abcdef"


def test_soft_refusal_is_billed_not_retried_and_quotes_the_model():
    words = "Sorry, this request involves content I can't generate."
    answer = httpx.Response(200, json={"created": 1, "data": [], "message": words})
    result, sleeps = run(Gateway(answer))
    assert not result.ok
    assert result.failure.code == "soft_refusal" and result.failure.refused
    assert words in result.failure.message
    assert "billed" in result.failure.message
    record = result.final_attempt
    assert (record.outcome, record.billed, record.amount) == (t.Outcome.SOFT_REFUSAL, True, PRICE)
    assert record.error_message == words
    assert len(result.attempts) == 1 and sleeps == []


def test_plain_text_200_is_a_soft_refusal():
    result, _ = run(Gateway(httpx.Response(200, text="I can't do that.")))
    assert result.failure.code == "soft_refusal"
    assert "I can't do that." in result.failure.message


def test_chat_shaped_answer_with_a_markdown_image_is_an_image():
    data = "data:image/png;base64," + base64.b64encode(PNG).decode()
    body = {"choices": [{"message": {"content": f"Here it is ![image]({data})"}}]}
    result, _ = run(Gateway(httpx.Response(200, json=body)))
    assert result.ok and result.image_bytes == PNG


def test_error_echoed_inside_a_200_body_is_an_unbilled_error():
    result, _ = run(Gateway(httpx.Response(200, json=VIP_4K_BODY)), max_attempts=1)
    assert result.failure.code == "upstream_error"
    assert result.final_attempt.outcome == t.Outcome.UPSTREAM_ERROR
    assert not result.final_attempt.billed


# -- docs/gateway.md's error table ------------------------------------------------------

ERROR_TABLE = [
    # (id, answer, failure code, outcome, attempts made with max_attempts=3)
    (
        "400 bad size",
        error(
            400,
            {
                "error": {
                    "message": "invalid size",
                    "type": "invalid_request_error",
                    "param": "size",
                }
            },
        ),
        "invalid_request",
        t.Outcome.REJECTED,
        1,
    ),
    (
        "401 token",
        error(401, {"error": {"message": "无效的令牌", "code": ""}}),
        "auth",
        t.Outcome.REJECTED,
        1,
    ),
    (
        "400 moderation",
        error(400, {"error": {"message": "rejected", "code": "moderation_blocked"}}),
        "moderation",
        t.Outcome.REJECTED,
        1,
    ),
    (
        "403 moderation",
        error(403, {"error": {"message": "rejected", "code": "moderation_blocked"}}),
        "moderation",
        t.Outcome.REJECTED,
        1,
    ),
    (
        "451 moderation",
        error(451, {"error": {"message": "blocked"}}),
        "moderation",
        t.Outcome.REJECTED,
        1,
    ),
    ("429 saturated", error(429, SATURATED_BODY), "saturated", t.Outcome.SATURATED, 3),
    (
        "429 bad parameter",
        error(
            429,
            {
                "error": {
                    "message": "parameter n is not supported",
                    "type": "invalid_request_error",
                    "param": "n",
                }
            },
        ),
        "invalid_request",
        t.Outcome.REJECTED,
        1,
    ),
    (
        "429 quota",
        error(429, {"error": {"message": "quota", "code": "insufficient_user_quota"}}),
        "quota",
        t.Outcome.REJECTED,
        1,
    ),
    (
        "403 quota",
        error(
            403,
            {"error": {"message": "用户额度不足, 剩余额度: $0", "code": "insufficient_user_quota"}},
        ),
        "quota",
        t.Outcome.REJECTED,
        1,
    ),
    (
        "500 content policy",
        error(500, CONTENT_POLICY_BODY),
        "content_policy",
        t.Outcome.CONTENT_POLICY,
        1,
    ),
    (
        "500 no upstream content",
        error(500, {"status_code": 500, "error": {"message": "未接收到上游响应内容"}}),
        "content_policy",
        t.Outcome.CONTENT_POLICY,
        1,
    ),
    (
        "500 write failed",
        error(
            500,
            {
                "error": {
                    "message": "write_response_body_failed",
                    "code": "write_response_body_failed",
                }
            },
        ),
        "upstream_error",
        t.Outcome.UPSTREAM_ERROR,
        3,
    ),
    (
        "502 not JSON",
        error(502, "<html>Bad Gateway</html>"),
        "upstream_error",
        t.Outcome.UPSTREAM_ERROR,
        3,
    ),
    (
        "500 status inside body",
        error(500, {"status_code": 500, "error": {"message": "boom", "type": "new_api_error"}}),
        "upstream_error",
        t.Outcome.UPSTREAM_ERROR,
        3,
    ),
    ("503 bare", error(503, ""), "upstream_error", t.Outcome.UPSTREAM_ERROR, 3),
]


@pytest.mark.parametrize(
    ("answer", "code", "outcome", "attempts"),
    [row[1:] for row in ERROR_TABLE],
    ids=[row[0] for row in ERROR_TABLE],
)
def test_error_table(answer, code, outcome, attempts):
    gateway = Gateway(answer)
    reported: list[t.AttemptRecord] = []
    result, sleeps = run(gateway, size=VIP_1K, on_attempt=reported.append)
    assert not result.ok and result.image_bytes is None
    assert result.failure.code == code
    # A safety verdict is final and the image is refused; anything else just failed.
    assert result.failure.refused == (code == "moderation")
    assert len(gateway.posts) == attempts == len(result.attempts)
    assert len(sleeps) == attempts - 1
    assert reported == result.attempts[:-1]
    assert result.final_attempt is result.attempts[-1]
    assert [a.number for a in result.attempts] == list(range(1, attempts + 1))
    for record in result.attempts:
        assert record.outcome == outcome
        assert record.billed is False and record.amount == Decimal("0")
        assert record.http_status == answer.status_code
        assert record.error_code == code
        assert record.endpoint == "images/generations"
    message = result.failure.message
    assert "Nothing was billed" in message or "It was not billed" in message


def test_gateway_message_is_kept_and_truncated():
    long = "x" * 5000
    result, _ = run(Gateway(error(400, {"error": {"message": long}})))
    assert result.final_attempt.error_message.startswith("xxx")
    assert len(result.final_attempt.error_message) <= 500
    assert len(result.failure.message) < 1000


def test_content_policy_message_tells_the_designer_what_to_do():
    result, _ = run(Gateway(error(500, CONTENT_POLICY_BODY)))
    assert result.failure.message == (
        "The gateway's content policy blocked this prompt. It was not billed. "
        "Change the prompt and try again."
    )


def test_auth_message_points_at_the_setting():
    result, _ = run(Gateway(error(401, {"error": {"message": "无效的令牌"}})))
    assert "IMAGESTUDIO_API_KEY" in result.failure.message
    assert "Nothing was billed" in result.failure.message


def test_quota_message_asks_for_a_top_up():
    body = {"error": {"message": "no", "code": "insufficient_user_quota"}}
    result, _ = run(Gateway(error(403, body)))
    assert "top up" in result.failure.message


# -- transport failures, billing and retries ----------------------------------------------


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ReadTimeout("timed out"),
        httpx.ReadError("connection reset"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
    ],
    ids=lambda e: type(e).__name__,
)
def test_read_timeouts_and_drops_are_billed_and_retried(exc):
    reported: list[t.AttemptRecord] = []
    result, sleeps = run(Gateway(exc), on_attempt=reported.append)
    assert result.failure.code == "timeout"
    assert len(result.attempts) == 3 and len(reported) == 2 and len(sleeps) == 2
    for record in result.attempts:
        assert record.outcome == t.Outcome.TIMEOUT
        assert record.billed and record.amount == PRICE
        assert record.http_status is None and record.request_id == ""
    assert "billed 3 of the 3 tries ($0.09" in result.failure.message


@pytest.mark.parametrize(
    "exc",
    [httpx.ConnectError("refused"), httpx.ConnectTimeout("slow")],
    ids=lambda e: type(e).__name__,
)
def test_a_gateway_never_reached_is_unreachable_unbilled_and_retried(exc):
    result, sleeps = run(Gateway(exc))
    assert result.failure.code == "gateway_unreachable"
    assert len(result.attempts) == 3 and len(sleeps) == 2
    assert all(a.outcome == t.Outcome.UNREACHABLE and not a.billed for a in result.attempts)
    assert "Nothing was billed" in result.failure.message
    assert "check the network" in result.failure.message


def test_a_full_connection_pool_is_retried_without_blaming_the_gateway():
    result, _ = run(Gateway(httpx.PoolTimeout("busy")))
    assert result.failure.code == "connection_error"
    assert len(result.attempts) == 3
    assert all(a.outcome == t.Outcome.CONNECTION_ERROR and not a.billed for a in result.attempts)
    assert "Nothing was billed" in result.failure.message


def test_saturation_then_success():
    gateway = Gateway(error(429, SATURATED_BODY), image_b64(**{"x-request-id": "ok-1"}))
    reported: list[t.AttemptRecord] = []
    result, sleeps = run(gateway, size=VIP_1K, on_attempt=reported.append)
    assert result.ok
    assert [a.outcome for a in result.attempts] == [t.Outcome.SATURATED, t.Outcome.IMAGE]
    assert reported == [result.attempts[0]]
    assert result.final_attempt.number == 2 and result.final_attempt.request_id == "ok-1"
    assert sleeps == [1.5]


@pytest.mark.parametrize(
    ("rng", "expected"),
    [(0.0, [1.0, 2.0, 4.0]), (0.5, [1.5, 3.0, 6.0]), (1.0, [2.0, 4.0, 8.0])],
)
def test_backoff_is_exponential_with_equal_jitter(rng, expected):
    result, sleeps = run(
        Gateway(error(429, SATURATED_BODY)), size=VIP_1K, max_attempts=4, rng=lambda: rng
    )
    assert len(result.attempts) == 4
    assert sleeps == expected


def test_a_vip_429_at_2k_and_4k_waits_5_15_45_seconds_as_the_gateway_advises():
    for size in (VIP_2K, VIP_4K):
        gateway = Gateway(*[error(429, SATURATED_BODY)] * 3, image_b64())
        result, sleeps = run(gateway, size=size, max_attempts=3)
        assert result.ok and len(gateway.posts) == 4
        assert sleeps == [5.0, 15.0, 45.0]
    # Past the advised waits the 429 is final (unbilled).
    result, sleeps = run(Gateway(error(429, SATURATED_BODY)), size=VIP_2K, max_attempts=3)
    assert result.failure.code == "saturated" and len(result.attempts) == 4
    assert not any(a.billed for a in result.attempts)


def test_backoff_is_capped():
    _, sleeps = run(Gateway(error(503, "")), max_attempts=3, retry_base_delay=1000.0)
    # The step is capped at 60 s; equal jitter with rng=0.5 gives three quarters of it.
    assert sleeps == [45.0, 45.0]


def test_retry_after_is_honoured():
    _, sleeps = run(
        Gateway(error(429, SATURATED_BODY, **{"retry-after": "7"})), size=VIP_1K, max_attempts=2
    )
    assert sleeps == [7.0]


def test_mixed_billing_is_spelled_out():
    gateway = Gateway(httpx.ReadTimeout("slow"), error(429, SATURATED_BODY))
    result, _ = run(gateway, size=VIP_1K, max_attempts=2)
    assert result.failure.code == "saturated"
    assert "billed 1 of the 2 tries ($0.03" in result.failure.message


# -- -vip 4K → 2K ------------------------------------------------------------------


def test_4k_compute_500_falls_back_to_2k():
    gateway = Gateway(error(500, VIP_4K_BODY), image_b64())
    reported: list[t.AttemptRecord] = []
    result, _ = run(gateway, size=VIP_4K, on_attempt=reported.append)
    assert result.ok and result.fell_back_to_2k
    assert result.size_used == VIP_4K_FALLBACK
    assert [b["size"] for b in gateway.bodies()] == [VIP_4K, VIP_4K_FALLBACK]
    assert reported[0].size_sent == VIP_4K and reported[0].outcome == t.Outcome.UPSTREAM_ERROR
    assert result.final_attempt.size_sent == VIP_4K_FALLBACK


def test_4k_fallback_stays_at_2k_for_later_retries():
    gateway = Gateway(error(500, VIP_4K_BODY))
    result, _ = run(gateway, size=VIP_4K)
    assert [b["size"] for b in gateway.bodies()] == [VIP_4K, VIP_4K_FALLBACK, VIP_4K_FALLBACK]
    assert result.fell_back_to_2k and result.failure.code == "upstream_error"


def test_4k_without_fallback_retries_at_4k():
    gateway = Gateway(error(500, VIP_4K_BODY), image_b64())
    result, _ = run(gateway, size=VIP_4K, allow_fallback=False)
    assert result.ok and not result.fell_back_to_2k
    assert result.size_used == VIP_4K
    assert [b["size"] for b in gateway.bodies()] == [VIP_4K, VIP_4K]


def test_4k_content_policy_does_not_fall_back():
    gateway = Gateway(error(500, CONTENT_POLICY_BODY))
    result, _ = run(gateway, size=VIP_4K)
    assert len(gateway.posts) == 1 and not result.fell_back_to_2k
    assert result.failure.code == "content_policy"


def test_2k_500_is_retried_at_the_same_size():
    gateway = Gateway(error(500, VIP_4K_BODY), image_b64())
    result, _ = run(gateway, size=VIP_2K)
    assert [b["size"] for b in gateway.bodies()] == [VIP_2K, VIP_2K]
    assert not result.fell_back_to_2k


# -- result links ------------------------------------------------------------------

CDN = "https://cdn.test/files/abc.png"


@pytest.fixture(autouse=True)
def public_cdn(monkeypatch):
    """The test hosts (cdn.test …) resolve nowhere: here they resolve to a public address,
    as a real CDN's name does; the link check itself is tested below with real names."""
    from ipaddress import ip_address

    from imagestudio.web import ssrf

    real = ssrf.resolve

    def resolve(host: str, port: int):
        return [ip_address("93.184.216.34")] if host.endswith(".test") else real(host, port)

    monkeypatch.setattr(ssrf, "resolve", resolve)


@pytest.mark.parametrize(
    "link",
    ["https://localhost/x.png", "https://127.0.0.1:8443/x.png", "https://10.0.0.5/x.png"],
)
def test_a_link_inside_the_network_is_never_fetched_and_names_no_address(link):
    gateway = Gateway(image_url(link))

    result, _ = run(gateway, response_format="url")

    assert gateway.gets == []  # nothing was fetched
    assert result.failure.code == "download_failed"
    assert "private network" in result.failure.message
    for inside in ("127.0.0.1", "10.0.0.5", "localhost", "8443"):
        assert inside not in result.failure.message


def test_url_is_downloaded_without_the_key():
    gateway = Gateway(image_url(CDN))
    gateway.serve(CDN, httpx.Response(200, content=PNG))
    result, _ = run(gateway, response_format="url")
    assert result.ok and result.image_bytes == PNG
    (get,) = gateway.gets
    assert "authorization" not in get.headers


def test_download_is_retried_without_calling_the_generation_again():
    gateway = Gateway(image_url(CDN))
    gateway.serve(
        CDN, httpx.Response(503), httpx.ConnectError("reset"), httpx.Response(200, content=PNG)
    )
    result, sleeps = run(gateway, response_format="url", download_max_attempts=3)
    assert result.ok and result.image_bytes == PNG
    assert len(gateway.posts) == 1 and len(gateway.gets) == 3
    assert sleeps == [1.5, 3.0]
    assert len(result.attempts) == 1


def test_download_that_keeps_failing_is_billed_download_failed():
    gateway = Gateway(image_url(CDN))
    gateway.serve(CDN, httpx.Response(404))
    result, _ = run(gateway, response_format="url", download_max_attempts=2)
    assert len(gateway.posts) == 1 and len(gateway.gets) == 2
    assert result.failure.code == "download_failed"
    record = result.final_attempt
    assert (record.outcome, record.billed, record.amount) == (
        t.Outcome.DOWNLOAD_FAILED,
        True,
        PRICE,
    )
    assert record.error_code == "download_failed"
    assert "billed" in result.failure.message


def test_empty_download_is_a_failure():
    gateway = Gateway(image_url(CDN))
    gateway.serve(CDN, httpx.Response(200, content=b""))
    result, _ = run(gateway, response_format="url", download_max_attempts=1)
    assert result.failure.code == "download_failed"


def test_download_over_the_declared_cap_is_refused_at_once():
    gateway = Gateway(image_url(CDN))
    gateway.serve(CDN, httpx.Response(200, content=b"x" * 5000))
    result, _ = run(gateway, response_format="url", download_max_bytes=1024)
    assert result.failure.code == "download_failed"
    assert len(gateway.gets) == 1
    assert "larger than" in result.failure.message


def test_streamed_download_is_cut_past_the_cap():
    produced: list[int] = []

    def chunks():
        for _ in range(100):
            produced.append(1)
            yield b"x" * 512

    gateway = Gateway(image_url(CDN))
    gateway.serve(CDN, httpx.Response(200, content=chunks()))
    result, _ = run(gateway, response_format="url", download_max_bytes=2048)
    assert result.failure.code == "download_failed"
    assert len(produced) < 10


@pytest.mark.parametrize(
    "url",
    [
        "http://cdn.test/files/abc.png",
        "http://gateway.test:8080/files/abc.png",
        "file:///etc/passwd",
        "ftp://cdn.test/abc.png",
    ],
)
def test_non_https_links_off_the_gateway_are_refused(url):
    gateway = Gateway(image_url(url))
    result, _ = run(gateway, response_format="url")
    assert gateway.gets == []
    assert result.failure.code == "download_failed"
    assert result.final_attempt.billed


def test_plain_http_link_on_the_gateway_origin_is_fetched():
    base = "http://127.0.0.1:8765/v1"
    link = "http://127.0.0.1:8765/files/abc.png"
    gateway = Gateway(image_url(link))
    gateway.serve(link, httpx.Response(200, content=PNG))
    result, _ = run(gateway, response_format="url", base_url=base)
    assert result.ok and result.image_bytes == PNG


def test_redirect_to_a_refused_url_is_not_followed():
    gateway = Gateway(image_url(CDN))
    gateway.serve(CDN, httpx.Response(302, headers={"location": "http://10.0.0.1/x.png"}))
    result, _ = run(gateway, response_format="url")
    assert result.failure.code == "download_failed"
    assert [str(r.url) for r in gateway.gets] == [CDN]


def test_https_redirect_is_followed():
    final = "https://cdn2.test/abc.png"
    gateway = Gateway(image_url(CDN))
    gateway.serve(CDN, httpx.Response(302, headers={"location": final}))
    gateway.serve(final, httpx.Response(200, content=PNG))
    result, _ = run(gateway, response_format="url")
    assert result.ok


# -- the key stays secret ------------------------------------------------------------


def test_key_never_in_records_logs_messages_or_repr(caplog):
    caplog.set_level(logging.DEBUG)
    echoing = error(401, {"error": {"message": f"无效的令牌 {KEY} Bearer {KEY}"}})
    scripts = [
        Gateway(echoing),
        Gateway(httpx.ReadTimeout(f"timeout for {KEY}")),
        Gateway(error(429, SATURATED_BODY)),
        Gateway(error(500, CONTENT_POLICY_BODY)),
        Gateway(image_b64()),
    ]
    texts: list[str] = []
    for gateway in scripts:
        client, _ = make(gateway)
        texts.append(repr(client))
        result = client.generate(model=catalog.VIP, prompt="fox", size=VIP_2K)
        texts += [repr(a) for a in result.attempts]
        if result.failure:
            texts += [result.failure.message, repr(result.failure)]
    texts.append(caplog.text)
    assert caplog.records
    for text in texts:
        assert KEY not in text


def test_logs_carry_model_status_request_id_latency_but_not_the_prompt(caplog):
    caplog.set_level(logging.INFO, logger="imagestudio.upstream")
    prompt = "a very particular secret prompt " * 20
    gateway = Gateway(error(429, SATURATED_BODY), image_b64(**{"request-id": "rid-7"}))
    run(gateway, prompt=prompt)
    lines = [r.getMessage() for r in caplog.records if r.name == "imagestudio.upstream.client"]
    assert len(lines) == 2
    assert caplog.records[0].levelno == logging.WARNING
    assert "model=gpt-image-2-vip" in lines[1] and "status=200" in lines[1]
    assert "request_id=rid-7" in lines[1] and "latency_ms=" in lines[1]
    assert all("secret prompt" not in line for line in lines)


# -- the shared client --------------------------------------------------------------


def test_get_client_is_one_instance_per_process(settings):
    settings.UPSTREAM_BASE_URL = BASE
    settings.UPSTREAM_API_KEY = KEY
    settings.UPSTREAM_TIMEOUT = 42.0
    reset_client()
    try:
        seen: list[GatewayClient] = []
        threads = [threading.Thread(target=lambda: seen.append(get_client())) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len({id(c) for c in seen}) == 1
        assert seen[0] is get_client()
        assert seen[0].timeout == 42.0 and seen[0].base_url == BASE
        assert KEY not in repr(seen[0])
    finally:
        reset_client()


def test_from_settings_reads_every_setting(settings):
    settings.UPSTREAM_MAX_ATTEMPTS = 5
    settings.UPSTREAM_RESPONSE_FORMAT = "b64_json"
    settings.DOWNLOAD_MAX_BYTES = 4096
    settings.DOWNLOAD_MAX_ATTEMPTS = 2
    with client_module.GatewayClient.from_settings() as client:
        assert client.max_attempts == 5
        assert client.response_format == "b64_json"
        assert client.download_max_bytes == 4096
        assert client.download_max_attempts == 2


def test_concurrent_generations_share_one_client():
    gateway = Gateway()
    client, _ = make(gateway)
    results = []

    def work() -> None:
        results.append(client.generate(model=catalog.VIP, prompt="fox", size=VIP_2K))

    threads = [threading.Thread(target=work) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 16 and all(r.ok for r in results)


# -- the newer routes -------------------------------------------------------------------


def official_answer(usage: dict | None) -> httpx.Response:
    body: dict = {"created": 1, "data": [{"b64_json": base64.b64encode(PNG).decode()}]}
    if usage is not None:
        body["usage"] = usage
    return httpx.Response(200, json=body)


OFFICIAL_USAGE = {
    "input_tokens": 40,
    "input_tokens_details": {"text_tokens": 40, "image_tokens": 0},
    "output_tokens": 1750,
    "total_tokens": 1790,
}


def test_the_official_route_gets_quality_and_never_response_format():
    gateway = Gateway(official_answer(OFFICIAL_USAGE))
    result, _ = run(
        gateway, model=catalog.OFFICIAL, size="1536x1024", quality="high", output_format="webp"
    )
    assert result.ok
    body = gateway.bodies()[0]
    assert "response_format" not in body
    assert body == {
        "model": catalog.OFFICIAL,
        "prompt": "a red fox",
        "size": "1536x1024",
        "quality": "high",
        "output_format": "webp",
    }


def test_a_token_billed_answer_costs_its_usage_times_the_catalog_prices():
    result, _ = run(
        Gateway(official_answer(OFFICIAL_USAGE)), model=catalog.OFFICIAL, size="1024x1024"
    )
    record = result.final_attempt
    assert (record.text_tokens, record.image_tokens, record.output_tokens) == (40, 0, 1750)
    prices = catalog.MODELS[catalog.OFFICIAL].token_prices
    expected = (40 * prices.text_input + 1750 * prices.image_output) / 1_000_000
    assert record.amount == expected.quantize(Decimal("0.000001"))
    assert record.quality == "medium"  # the route's default tier, said explicitly
    assert not record.usage_missing


def test_a_token_billed_answer_without_usage_is_billed_at_the_top_of_its_range_and_marked():
    result, _ = run(
        Gateway(official_answer(None)), model=catalog.OFFICIAL, size="2048x1152", quality="low"
    )
    record = result.final_attempt
    assert record.usage_missing and record.billed
    assert record.amount == catalog.reserve_per_image(catalog.OFFICIAL, "2048x1152", "low")


def test_an_option_the_route_does_not_take_is_never_sent():
    with pytest.raises(ValueError, match="quality"):
        run(Gateway(image_b64()), model=catalog.VIP, size=VIP_2K, quality="high")
    with pytest.raises(ValueError, match="output_format"):
        run(Gateway(image_b64()), model=catalog.ALL_26, size="1024x1024", output_format="webp")


def test_the_26_all_route_gets_size_background_and_format_and_never_n():
    gateway = Gateway(image_b64())
    result, _ = run(
        gateway, model=catalog.ALL_26, size="3840x2160", background="opaque", output_format="jpeg"
    )
    assert result.ok and result.final_attempt.amount == Decimal("0.025")
    body = gateway.bodies()[0]
    assert body["size"] == "3840x2160" and body["background"] == "opaque"
    assert "n" not in body and "quality" not in body and body["response_format"] == "b64_json"


@pytest.mark.parametrize(
    ("model", "size", "seconds"),
    [
        (catalog.VIP, VIP_2K, 360),
        (catalog.VIP, VIP_4K, 600),
        (catalog.ALL_26, "1024x1024", 600),
        (catalog.OFFICIAL, "1024x1024", 600),
    ],
)
def test_each_route_waits_as_long_as_the_gateway_advises(model, size, seconds):
    gateway = Gateway(official_answer(OFFICIAL_USAGE) if model == catalog.OFFICIAL else image_b64())
    run(gateway, model=model, size=size)
    assert gateway.posts[0].extensions["timeout"]["read"] == seconds


def test_a_set_upstream_timeout_overrides_every_route():
    gateway = Gateway(image_b64())
    run(gateway, model=catalog.VIP, size=VIP_4K, timeout=42.0)
    assert gateway.posts[0].extensions["timeout"]["read"] == 42.0


@pytest.mark.parametrize("status", [502, 503, 504])
def test_a_502_503_or_504_is_a_reroutable_failure(status):
    result, _ = run(Gateway(error(status, "")), size=VIP_1K, max_attempts=2)
    assert result.failure.reroutable and not result.failure.refused
    assert not any(a.billed for a in result.attempts)


def test_a_read_timeout_is_reroutable_and_billed():
    result, _ = run(Gateway(httpx.ReadTimeout("slow")), size=VIP_1K, max_attempts=1)
    assert result.failure.code == "timeout" and result.failure.reroutable
    assert result.final_attempt.billed


def test_an_image_safety_verdict_is_refused_never_retried_and_not_rerouted():
    body = {
        "error": {"message": "filtered", "code": "image_safety", "type": "invalid_request_error"}
    }
    for status in (400, 451):
        gateway = Gateway(error(status, body))
        result, sleeps = run(gateway, size=VIP_4K)
        assert len(gateway.posts) == 1 and sleeps == []
        assert result.failure.code == "moderation" and result.failure.refused
        assert not result.failure.reroutable
        assert "Rephrase" in result.failure.message


def test_the_shared_client_leaves_timeouts_to_the_catalog_unless_the_environment_sets_one(
    settings,
):
    settings.UPSTREAM_BASE_URL = BASE
    settings.UPSTREAM_API_KEY = KEY
    settings.UPSTREAM_TIMEOUT = None  # IMAGESTUDIO_UPSTREAM_TIMEOUT unset
    reset_client()
    try:
        client = get_client()
        assert client.timeout_for(catalog.VIP, VIP_2K) == 360
        assert client.timeout_for(catalog.VIP, VIP_4K) == 600
        assert client.timeout_for(catalog.ALL, "", inputs=2) == 600
        settings.UPSTREAM_TIMEOUT = 75.0  # set: every route waits that long
        reset_client()
        client = get_client()
        assert {client.timeout_for(m, catalog.default_size(m)) for m in catalog.MODELS} == {75.0}
    finally:
        reset_client()
