"""The gateway client: one synchronous image generation, with retries, billing and download.

The rules (what is billed, what is retried, the error shapes) come from
`docs/gateway.md`. One `GatewayClient` is shared by every worker thread of a
process (`get_client()`); it keeps no per-call state, and httpx.Client is thread-safe.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import itertools
import logging
import os
import random
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from imagestudio import catalog
from imagestudio.upstream import messages
from imagestudio.upstream import types as t
from imagestudio.upstream.types import (
    AttemptRecord,
    FailureCode,
    GenerationResult,
    InputImage,
    UpstreamFailure,
)
from imagestudio.web import ssrf

log = logging.getLogger(__name__)

ENDPOINT = catalog.GENERATIONS
RESPONSE_FORMATS = frozenset({"url", "b64_json"})
# Longest wait between two attempts, whatever the backoff or a Retry-After says.
MAX_BACKOFF_SECONDS = 60.0
MAX_DOWNLOAD_REDIRECTS = 3
# Gateway text kept in a ledger row / shown to a designer.
MAX_DETAIL_CHARS = 500
MAX_QUOTE_CHARS = 300
# A base URL that failed this many times in a row before the request was sent is left
# out for a while (the others are tried first; all of them when all are left out).
UNREACHABLE_STRIKES = 3
UNREACHABLE_SKIP_SECONDS = 60.0

OnAttempt = Callable[[AttemptRecord], None]
# Called just before each request goes out: from then on the gateway may bill the call.
OnSend = Callable[[], None]

# The two content-policy 500s: retrying the same prompt rarely helps (docs/gateway.md).
_CONTENT_POLICY_MARKERS = ("image was not generated as expected", "未接收到上游响应内容")
_SATURATION_MARKERS = ("饱和", "saturat", "负载", "rate limit", "too many requests")
_MODERATION_MARKERS = (
    "moderation",
    "safety system",
    "content_policy_violation",
    "image_safety",
)
# The route itself failed: another route may well answer the same request.
REROUTABLE_STATUSES = frozenset({502, 503, 504})
# The retry base delay the gateway's advised 429 waits (catalog retry_429_s) are written
# for: a smaller base (tests: 0) shortens them in proportion.
DEFAULT_RETRY_BASE_DELAY = 2.0
_BAD_PARAM_MARKERS = ("parameter", "参数", "invalid", "not supported", "unsupported")
_DATA_URI = re.compile(r"^data:[^,]*?;base64,", re.IGNORECASE)
_MARKDOWN_IMAGE = re.compile(r"!\[[^\]]*\]\(\s*(?P<src>(?:https?://|data:image/)[^)\s]+)\s*\)")
_BARE_IMAGE = re.compile(
    r"(?P<src>data:image/[\w.+-]+;base64,[A-Za-z0-9+/=]+"
    r"|https?://[^\s)\]\"'<>]+?\.(?:png|jpe?g|webp)(?:\?[^\s)\]\"'<>]*)?)",
    re.IGNORECASE,
)
_TRACE_ID = re.compile(r"(?:trace\s*id|request\s*id)\s*[:：]\s*(?P<id>[\w-]+)", re.IGNORECASE)
_BEARER = re.compile(r"(?i)bearer\s+\S+")


@dataclass(frozen=True)
class _GatewayError:
    """An error body, whichever of the three shapes it came in."""

    message: str
    type: str
    code: str
    param: str


@dataclass(frozen=True)
class _Verdict:
    """How one attempt ended, before it becomes an AttemptRecord."""

    outcome: t.Outcome
    code: FailureCode | Literal[""] = ""  # "" for an image
    detail: str = ""  # the gateway's (or the network's) words, scrubbed and truncated
    retry: bool = False
    fallback_2k: bool = False  # a -vip 4K compute 500: the next attempt goes at 2K
    retry_after: float | None = None
    image: bytes | None = None
    # For the designer-facing message (download / parse failures): said when shown.
    reason: messages.Reason | str = ""
    text: str = ""  # a chat answer's words besides its image
    # (text, image, output) tokens from the answer's `usage`, when it had them.
    usage: tuple[int, int, int] | None = None

    @property
    def billed(self) -> bool:
        return self.outcome in t.BILLED_OUTCOMES


@dataclass(frozen=True)
class _CallInfo:
    """What one call asks for, where its price and its timeout depend on it."""

    model: str
    endpoint: str
    size: str
    quality: str = ""
    inputs: int = 0
    # The caller has another route for this request: a route failure (502/503/504, a read
    # timeout) ends the call at once instead of being retried on this route.
    then_reroute: bool = False


class _Bases:
    """The gateway's base URLs in order of preference (IMAGESTUDIO_API_BASE_URL, comma
    separated), and which of them are being skipped after failing to connect."""

    def __init__(self, urls: Sequence[str], clock: Callable[[], float]) -> None:
        self.urls = list(urls)
        self._clock = clock
        self._lock = threading.Lock()
        self._strikes = dict.fromkeys(self.urls, 0)
        self._skip_until = dict.fromkeys(self.urls, 0.0)

    def order(self) -> list[str]:
        now = self._clock()
        with self._lock:
            usable = [url for url in self.urls if self._skip_until[url] <= now]
        return usable or list(self.urls)

    def unreachable(self, url: str) -> None:
        with self._lock:
            self._strikes[url] += 1
            if self._strikes[url] >= UNREACHABLE_STRIKES:
                self._strikes[url] = 0
                self._skip_until[url] = self._clock() + UNREACHABLE_SKIP_SECONDS
                log.warning(
                    "gateway base %s unreachable %d times in a row; skipped for %g s",
                    _safe_url(url),
                    UNREACHABLE_STRIKES,
                    UNREACHABLE_SKIP_SECONDS,
                )

    def reached(self, url: str) -> None:
        with self._lock:
            self._strikes[url] = 0


def split_base_urls(value: str | Sequence[str]) -> list[str]:
    """IMAGESTUDIO_API_BASE_URL's bases: comma-separated, in order, without a final /."""
    parts = value.split(",") if isinstance(value, str) else list(value)
    urls = [part.strip().rstrip("/") for part in parts if part.strip()]
    if not urls:
        raise ValueError("no gateway base URL")
    return urls


class _DownloadError(Exception):
    def __init__(self, reason: messages.Reason | str, *, retry: bool) -> None:
        super().__init__(str(reason))
        self.reason = reason
        self.retry = retry


class GatewayClient:
    def __init__(
        self,
        base_url: str | Sequence[str],
        api_key: str,
        timeout: float | None = None,
        connect_timeout: float = 10.0,
        max_attempts: int = 3,
        retry_base_delay: float = 2.0,
        response_format: str = "url",
        download_timeout: float = 60.0,
        download_max_bytes: int = 64 * 1024 * 1024,
        download_max_attempts: int = 3,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if response_format not in RESPONSE_FORMATS:
            raise ValueError(f"response_format must be one of {sorted(RESPONSE_FORMATS)}")
        if max_attempts < 1 or download_max_attempts < 1:
            raise ValueError("max_attempts and download_max_attempts must be at least 1")
        self._bases = _Bases(split_base_urls(base_url), clock)
        self.base_url = self._bases.urls[0]
        self._api_key = api_key
        # None: each route's and size's timeout from the catalog; a number (the
        # environment's IMAGESTUDIO_UPSTREAM_TIMEOUT) overrides every route.
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.max_attempts = max_attempts
        self.retry_base_delay = retry_base_delay
        self.response_format = response_format
        self.download_timeout = download_timeout
        self.download_max_bytes = download_max_bytes
        self.download_max_attempts = download_max_attempts
        self._sleep = sleep
        self._rng = rng
        self._base_origins = {_origin(httpx.URL(url)) for url in self._bases.urls}
        self._download_timeout = httpx.Timeout(download_timeout, connect=connect_timeout)
        # No default Authorization header: the key goes on the generation POST only, never
        # to the CDN that serves result links.
        self._http = httpx.Client(
            transport=transport,
            headers={"User-Agent": "imagestudio"},
            follow_redirects=False,
            # No cap on connections: each thread holds one at a time (the call, then its
            # download), so the worker's concurrency bounds them; a cap under it queued
            # calls for a connection before they reached the gateway (bench i at 128).
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=32),
        )

    @classmethod
    def from_settings(cls, **overrides: Any) -> GatewayClient:
        from django.conf import settings

        options: dict[str, Any] = {
            "base_url": settings.UPSTREAM_BASE_URL,
            "api_key": settings.UPSTREAM_API_KEY,
            "timeout": settings.UPSTREAM_TIMEOUT,
            "connect_timeout": settings.UPSTREAM_CONNECT_TIMEOUT,
            "max_attempts": settings.UPSTREAM_MAX_ATTEMPTS,
            "retry_base_delay": settings.UPSTREAM_RETRY_BASE_DELAY,
            "response_format": settings.UPSTREAM_RESPONSE_FORMAT,
            "download_timeout": settings.DOWNLOAD_TIMEOUT,
            "download_max_bytes": settings.DOWNLOAD_MAX_BYTES,
            "download_max_attempts": settings.DOWNLOAD_MAX_ATTEMPTS,
        }
        options.update(overrides)
        return cls(**options)

    def timeout_for(self, model: str, size: str = "", inputs: int = 0) -> float:
        """Seconds this client waits for one answer of this route at this size."""
        if self.timeout is not None:
            return self.timeout
        return catalog.timeout_for(model, size, inputs)

    def _generation_timeout(self, info: _CallInfo) -> httpx.Timeout:
        # read = the whole wait for the image (the gateway is synchronous: 90-200 s for
        # -vip, up to 600 s advised for 4K, multi-reference and official calls); connect
        # stays short so an unreachable gateway fails fast and unbilled.
        seconds = self.timeout_for(info.model, info.size, info.inputs)
        return httpx.Timeout(seconds, connect=self.connect_timeout)

    def _fields(
        self, model: str, prompt: str, size_sent: str, options: dict[str, str]
    ) -> dict[str, str]:
        fields: dict[str, str] = {"model": model, "prompt": prompt}
        if catalog.sends_response_format(model):
            # The default flipped between doc versions (url, then b64_json): always say.
            # Never to the official route, which refuses the field (400 unknown_parameter).
            fields["response_format"] = self.response_format
        if size_sent:
            fields["size"] = size_sent
        fields.update(options)
        return fields

    def __repr__(self) -> str:
        return (
            f"GatewayClient(base_url={','.join(self._bases.urls)!r}, response_format="
            f"{self.response_format!r}, max_attempts={self.max_attempts})"
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> GatewayClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the public calls ------------------------------------------------------------

    def generate(
        self,
        *,
        model: str,
        prompt: str,
        size: str,
        quality: str = "",
        background: str = "",
        output_format: str = "",
        allow_fallback: bool = True,
        then_reroute: bool = False,
        on_attempt: OnAttempt | None = None,
        on_send: OnSend | None = None,
    ) -> GenerationResult:
        """Text to image: `POST {base}/images/generations` (JSON). `prompt` is sent as it
        is: the caller builds it with catalog.gateway_text (the -all phrasing included).
        `quality`, `background` and `output_format` only where the route takes them (else
        a ValueError: the studio's own validation should have said so first).
        `then_reroute`: the caller has a next route, so a route failure is not retried."""
        _validate(model, prompt, size, catalog.GENERATIONS)
        options = _options(model, quality, background, output_format)
        gateway_prompt = prompt

        def request(size_sent: str) -> dict[str, Any]:
            return {"json": self._fields(model, gateway_prompt, size_sent, options)}

        info = _CallInfo(
            model, catalog.GENERATIONS, size, options.get("quality", ""), 0, then_reroute
        )
        return self._call(info, request, gateway_prompt, allow_fallback, on_attempt, on_send)

    def edit(
        self,
        *,
        model: str,
        prompt: str,
        size: str,
        images: Sequence[InputImage],
        mask: InputImage | None = None,
        quality: str = "",
        background: str = "",
        output_format: str = "",
        allow_fallback: bool = True,
        then_reroute: bool = False,
        on_attempt: OnAttempt | None = None,
        on_send: OnSend | None = None,
    ) -> GenerationResult:
        """Edit or fuse images: `POST {base}/images/edits` (multipart), the files under the
        repeated field name `image` in the order the prompt calls image1, image2, …, and a
        `mask` (a PNG with alpha, the size of image 1, checked by studio.masks) where the
        route repaints locally. `prompt` is sent as it is (built with catalog.gateway_text)."""
        _validate(model, prompt, size, catalog.EDITS)
        limit = catalog.max_inputs(model)
        if not 1 <= len(images) <= limit:
            raise ValueError(f"{model} takes 1 to {limit} images")
        if mask is not None and not catalog.accepts_mask(model):
            raise ValueError(f"{model} takes no mask")
        options = _options(model, quality, background, output_format)
        gateway_prompt = prompt

        def request(size_sent: str) -> dict[str, Any]:
            fields = self._fields(model, gateway_prompt, size_sent, options)
            # `image`, not the SDK's `image[]`: the gateway's own examples use `image`.
            files = [
                ("image", (f"image{i}.{img.extension}", img.data, img.content_type))
                for i, img in enumerate(images, start=1)
            ]
            if mask is not None:
                files.append(("mask", ("mask.png", mask.data, mask.content_type)))
            return {"data": fields, "files": files}

        info = _CallInfo(
            model, catalog.EDITS, size, options.get("quality", ""), len(images), then_reroute
        )
        return self._call(info, request, gateway_prompt, allow_fallback, on_attempt, on_send)

    def chat(
        self,
        *,
        model: str,
        messages: list[dict[str, Any]],
        on_attempt: OnAttempt | None = None,
        on_send: OnSend | None = None,
    ) -> GenerationResult:
        """One turn of a conversation: `POST {base}/chat/completions`. The caller builds
        `messages` (the gateway uses only the last user message's images as the base)."""
        if model not in catalog.MODELS:
            raise ValueError(f"unknown model {model!r}")
        if not catalog.accepts_endpoint(model, catalog.CHAT):
            raise ValueError(f"{model} has no chat endpoint")
        if not messages or messages[-1].get("role") != "user":
            raise ValueError("a chat turn ends with the user's message")
        # stream stays false: the reverse models answer in one piece.
        body = {"model": model, "messages": messages, "stream": False}
        prompt = _last_text(messages)
        info = _CallInfo(model, catalog.CHAT, "")
        return self._call(info, lambda _size: {"json": body}, prompt, False, on_attempt, on_send)

    def _call(
        self,
        info: _CallInfo,
        request: Callable[[str], dict[str, Any]],
        gateway_prompt: str,
        allow_fallback: bool,
        on_attempt: OnAttempt | None,
        on_send: OnSend | None = None,
    ) -> GenerationResult:
        model, endpoint, size = info.model, info.endpoint, info.size
        takes_size = catalog.MODELS[model].accepts_size and endpoint != catalog.CHAT
        size_sent = size if takes_size else ""
        # The gateway's advised waits before retrying a 429 at this size (-vip 2K/4K:
        # 5, 15, 45 s): as many retries as waits, whatever max_attempts says.
        waits_429 = catalog.retry_429_delays(model, size_sent) if takes_size else ()
        saturated = 0
        fell_back = False
        attempts: list[AttemptRecord] = []
        verdict = _Verdict(outcome=t.Outcome.CONNECTION_ERROR)
        # Ledger numbers: every attempt, failovers included; `number` counts the tries
        # against the retry budget, which a failover to another base does not use up.
        numbers = itertools.count(1)

        def failed_over(record: AttemptRecord) -> None:
            attempts.append(record)
            if on_attempt is not None:
                on_attempt(record)

        number = 0
        while True:
            number += 1
            verdict, record = self._attempt(
                numbers,
                dataclasses.replace(info, size=size_sent),
                request,
                gateway_prompt,
                failed_over,
                will_retry=number < max(self.max_attempts, len(waits_429) + 1),
                on_send=on_send,
            )
            attempts.append(record)
            is_429 = verdict.outcome == t.Outcome.SATURATED
            saturated += is_429
            more = number < self.max_attempts or (is_429 and saturated <= len(waits_429))
            # Another route may take it at once: a failing route is not worth a retry.
            hop = info.then_reroute and _reroutable(record, verdict.code or FailureCode.TIMEOUT)
            if verdict.image is not None or not verdict.retry or not more or hop:
                break
            if verdict.fallback_2k and allow_fallback:
                fallback = catalog.fallback_2k(size_sent)
                if fallback:
                    size_sent, fell_back = fallback, True
            # Written before the wait, so the ledger shows a billed timeout even if the
            # worker dies while sleeping. An exception here (the database is gone) ends
            # the job: carrying on would spend money nobody can record.
            if on_attempt is not None:
                on_attempt(record)
            if is_429 and saturated <= len(waits_429):
                self._sleep(self._advised_wait(waits_429[saturated - 1], verdict.retry_after))
            else:
                self._sleep(self._backoff(number, verdict.retry_after))

        size_used = size_sent if takes_size else size
        final = attempts[-1]
        if verdict.image is not None:
            return GenerationResult(
                image_bytes=verdict.image,
                size_used=size_used,
                fell_back_to_2k=fell_back,
                final_attempt=final,
                attempts=attempts,
                text=verdict.text,
            )
        # Every verdict without an image names its code; the fallback only keeps types honest.
        code = verdict.code or FailureCode.BAD_RESPONSE
        failure = UpstreamFailure(
            code=code,
            params=messages.failure_params(
                code,
                attempts,
                http_status=final.http_status,
                detail=_truncate(self._scrub(verdict.detail), MAX_QUOTE_CHARS),
                reason=verdict.reason,
                timeout_seconds=self.timeout_for(model, size_sent, info.inputs),
            ),
            # A safety verdict is final: the same prompt gets the same verdict.
            refused=code in (FailureCode.SOFT_REFUSAL, FailureCode.MODERATION),
            text=verdict.detail if code == FailureCode.SOFT_REFUSAL else "",
            reroutable=_reroutable(final, code),
        )
        return GenerationResult(
            image_bytes=None,
            size_used=size_used,
            fell_back_to_2k=fell_back,
            final_attempt=final,
            failure=failure,
            attempts=attempts,
        )

    # -- one attempt -----------------------------------------------------------------

    def _attempt(
        self,
        numbers: Iterator[int],
        info: _CallInfo,
        request: Callable[[str], dict[str, Any]],
        prompt: str,
        failed_over: OnAttempt,
        *,
        will_retry: bool,
        on_send: OnSend | None = None,
    ) -> tuple[_Verdict, AttemptRecord]:
        """One try: the first base that can be reached gets the request. A base that
        provably never got it (refused, reset while connecting, DNS, TLS, connect
        timeout) is an unbilled `unreachable` attempt, reported at once, and the next
        base is tried; when none is left the try ends `gateway_unreachable`. Any later
        failure (a read timeout, a dropped answer) may be billed and is never failed over."""
        # Read before on_send: its caller gives the database connection back for the wait,
        # and the timeout may come from staff's override (a query every few seconds), which
        # would take a connection from the pool again and hold it through the whole call.
        # With 64 calls a process and a pool of 10, calls queued for connections (bench i).
        timeout = self._generation_timeout(info)
        bases = self._bases.order()
        for index, base in enumerate(bases):
            if on_send is not None:
                on_send()
            verdict, record = self._send(next(numbers), base, info, request(info.size), timeout)
            if verdict.outcome != t.Outcome.UNREACHABLE:
                self._bases.reached(base)
                break
            self._bases.unreachable(base)
            if index + 1 < len(bases):
                self._log(record, prompt, will_retry=True)
                failed_over(record)
        self._log(record, prompt, will_retry=verdict.retry and will_retry)
        return verdict, record

    def _send(
        self,
        number: int,
        base: str,
        info: _CallInfo,
        request: dict[str, Any],
        timeout: httpx.Timeout,
    ) -> tuple[_Verdict, AttemptRecord]:
        model, endpoint, size_sent = info.model, info.endpoint, info.size
        started = time.monotonic()
        status: int | None = None
        request_id = ""
        try:
            with self._http.stream(
                "POST",
                f"{base}/{endpoint}",
                headers={"Authorization": f"Bearer {self._api_key}"},
                timeout=timeout,
                **request,
            ) as streamed:
                status = streamed.status_code
                request_id = _request_id(streamed)
                response = self._read_answer(streamed)
            latency_ms = _ms_since(started)
            if response is None:
                verdict = _too_large_verdict(status, self.answer_max_bytes)
            else:
                verdict = self._judge(response, model, size_sent, endpoint)
            if not request_id:
                request_id = _trace_id(verdict.detail)
        except httpx.DecodingError as exc:
            # The answer arrived (so it was billed) but its transfer encoding was broken.
            latency_ms = _ms_since(started)
            verdict = _Verdict(
                outcome=t.Outcome.TIMEOUT,
                code=FailureCode.BAD_RESPONSE,
                detail=_transport_reason(exc),
                retry=True,
                reason=messages.answer_garbled(),
            )
        except httpx.TransportError as exc:
            latency_ms = _ms_since(started)
            verdict = _transport_verdict(exc)
            if verdict.outcome == t.Outcome.UNREACHABLE:
                where = f"{_safe_url(base)}: {verdict.detail}"[:MAX_DETAIL_CHARS]
                verdict = dataclasses.replace(verdict, detail=where)
        text_tokens, image_tokens, output_tokens = verdict.usage or (None, None, None)
        amount, usage_missing = catalog.attempt_cost(
            model,
            billed=verdict.billed,
            size=size_sent,
            quality=info.quality,
            inputs=info.inputs,
            text_tokens=text_tokens,
            image_tokens=image_tokens,
            output_tokens=output_tokens,
        )
        record = AttemptRecord(
            number=number,
            endpoint=endpoint,
            model=model,
            size_sent=size_sent,
            http_status=status,
            request_id=request_id,
            latency_ms=latency_ms,
            outcome=verdict.outcome,
            billed=verdict.billed,
            amount=amount,
            error_code=verdict.code,
            error_message=self._scrub(verdict.detail),
            note=verdict.reason.key if isinstance(verdict.reason, messages.Reason) else "",
            note_params=dict(verdict.reason.args)
            if isinstance(verdict.reason, messages.Reason)
            else {},
            quality=info.quality,
            inputs=info.inputs,
            text_tokens=text_tokens if catalog.MODELS[model].per_token else None,
            image_tokens=image_tokens if catalog.MODELS[model].per_token else None,
            output_tokens=output_tokens if catalog.MODELS[model].per_token else None,
            usage_missing=usage_missing,
        )
        return verdict, record

    @property
    def answer_max_bytes(self) -> int:
        """The most of a call's answer that is read: a base64 image of the largest download
        allowed, and room for the rest of the JSON around it."""
        return self.download_max_bytes * 4 // 3 + 2 * 1024 * 1024

    def _read_answer(self, streamed: httpx.Response) -> httpx.Response | None:
        """The answer read while it streams, at most `answer_max_bytes` (decoded, so a
        compressed bomb is capped too): a complete Response, or None when it was longer.
        Held in full, a 200 MB answer would grow a worker by hundreds of MB."""
        declared = streamed.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.answer_max_bytes:
            return None
        buffer = bytearray()
        for chunk in streamed.iter_bytes():
            buffer += chunk
            if len(buffer) > self.answer_max_bytes:
                return None
        # The body is decoded already: the copy must not be decoded a second time.
        headers = [
            (k, v)
            for k, v in streamed.headers.multi_items()
            if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")
        ]
        return httpx.Response(
            streamed.status_code,
            headers=headers,
            content=bytes(buffer),
            request=streamed.request,
        )

    def _judge(
        self, response: httpx.Response, model: str, size_sent: str, endpoint: str
    ) -> _Verdict:
        payload = _json_or_none(response)
        status = response.status_code
        if payload is _UNREADABLE:
            if 200 <= status < 300:
                # A finished call (the gateway bills every 200) whose answer cannot be read.
                return _Verdict(
                    outcome=t.Outcome.BAD_IMAGE,
                    code=FailureCode.BAD_RESPONSE,
                    detail="the answer's JSON is nested too deep to read",
                    reason=messages.answer_garbled(),
                )
            payload = None
        # Some answers echo a failure status inside a 200 body; trust the body then.
        if status < 400 and isinstance(payload, dict):
            echoed = payload.get("status_code")
            if isinstance(echoed, int) and echoed >= 400 and _has_error(payload):
                status = echoed
        if status >= 400:
            error = _parse_error(payload, response)
            return _error_verdict(status, error, model, size_sent, _retry_after(response), endpoint)
        if 200 <= status < 300:
            return self._judge_success(payload, response)
        return _Verdict(
            outcome=t.Outcome.UPSTREAM_ERROR,
            code=FailureCode.BAD_RESPONSE,
            detail=f"unexpected HTTP {status}",
            reason=messages.answer_unexpected_status(status),
        )

    def _judge_success(self, payload: Any, response: httpx.Response) -> _Verdict:
        return dataclasses.replace(self._judge_answer(payload, response), usage=_usage(payload))

    def _judge_answer(self, payload: Any, response: httpx.Response) -> _Verdict:
        source = _image_source(payload)
        if source is None and payload is None:
            # Not JSON: the relay sometimes passes the model's plain text straight through.
            source = _markdown_image(response.text)
        if source is None:
            words = _refusal_text(payload, response)
            return _Verdict(
                outcome=t.Outcome.SOFT_REFUSAL, code=FailureCode.SOFT_REFUSAL, detail=words
            )
        kind, value = source
        words = _answer_words(payload, value) if isinstance(payload, dict) else ""
        if kind == "b64":
            try:
                image = _decode_b64(value)
            except ValueError as exc:
                return _Verdict(
                    outcome=t.Outcome.BAD_IMAGE,
                    code=FailureCode.BAD_RESPONSE,
                    detail=f"b64_json: {exc}",
                    reason=messages.answer_not_decodable(),
                )
            return _Verdict(outcome=t.Outcome.IMAGE, image=image, text=words)
        try:
            return _Verdict(outcome=t.Outcome.IMAGE, image=self._download(value), text=words)
        except _DownloadError as exc:
            return _Verdict(
                outcome=t.Outcome.DOWNLOAD_FAILED,
                code=FailureCode.DOWNLOAD_FAILED,
                detail=f"{exc.reason} ({_safe_url(value)})",
                reason=exc.reason,
            )

    # -- result links ----------------------------------------------------------------

    def _download(self, url: str) -> bytes:
        """Fetch a result link at once (links expire in ~24 h), retrying only the fetch."""
        last: _DownloadError | None = None
        for number in range(1, self.download_max_attempts + 1):
            try:
                return self._download_once(url)
            except _DownloadError as exc:
                last = exc
                log.warning(
                    "gateway result download %d/%d failed: %s",
                    number,
                    self.download_max_attempts,
                    exc.reason,
                )
                if not exc.retry or number == self.download_max_attempts:
                    break
                self._sleep(self._backoff(number, None))
        assert last is not None
        raise last

    def _download_once(self, url: str) -> bytes:
        deadline = time.monotonic() + self.download_timeout
        current = url
        for _hop in range(MAX_DOWNLOAD_REDIRECTS + 1):
            target = self._allowed_url(current)
            try:
                with self._http.stream("GET", target, timeout=self._download_timeout) as resp:
                    if resp.is_redirect and "location" in resp.headers:
                        # Followed by hand so every hop passes the same url check.
                        current = str(resp.url.join(resp.headers["location"]))
                        continue
                    return self._read_capped(resp, deadline)
            except httpx.HTTPError as exc:
                raise _DownloadError(_transport_reason(exc), retry=True) from None
        raise _DownloadError(messages.link_too_many_redirects(), retry=False)

    def _read_capped(self, resp: httpx.Response, deadline: float) -> bytes:
        if resp.status_code != 200:
            # 404 right after generation can be the CDN catching up; an expired link
            # stays 404 and the retries run out quickly.
            retry = resp.status_code in (404, 408, 425, 429) or resp.status_code >= 500
            raise _DownloadError(messages.link_status(resp.status_code), retry=retry)
        declared = resp.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.download_max_bytes:
            raise _DownloadError(messages.link_too_large(self.download_max_bytes), retry=False)
        buffer = bytearray()
        # iter_bytes decodes gzip, so the cap also holds against a compressed bomb.
        for chunk in resp.iter_bytes():
            buffer += chunk
            if len(buffer) > self.download_max_bytes:
                raise _DownloadError(messages.link_too_large(self.download_max_bytes), retry=False)
            # httpx's read timeout is per read; a slow drip would never trip it.
            if time.monotonic() > deadline:
                raise _DownloadError(messages.link_too_slow(), retry=True)
        if not buffer:
            raise _DownloadError(messages.link_empty(), retry=True)
        return bytes(buffer)

    def _allowed_url(self, url: str) -> httpx.URL:
        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, TypeError):
            raise _DownloadError(messages.link_invalid(), retry=False) from None
        # https anywhere (the CDN), or the gateway's own origin (the local simulator
        # serves plain http links); nothing else, so a bad answer cannot make the
        # server fetch internal addresses over http.
        if parsed.scheme in ("http", "https") and _origin(parsed) in self._base_origins:
            return parsed
        if parsed.scheme == "https" and parsed.host:
            # A hostile or compromised answer (or a redirect) must not make the server
            # probe inside the network: every address the host resolves to must be
            # public. The words a person reads name no address.
            try:
                ssrf.check_url(str(parsed))
            except ssrf.AddressRefused as exc:
                log.warning("result link refused: %s", exc)
                raise _DownloadError(messages.link_refused(), retry=False) from None
            return parsed
        raise _DownloadError(messages.link_not_fetched(), retry=False)

    # -- helpers ---------------------------------------------------------------------

    def _backoff(self, number: int, retry_after: float | None) -> float:
        """Equal jitter: half the exponential step for sure, the other half at random."""
        step = min(MAX_BACKOFF_SECONDS, self.retry_base_delay * (2.0 ** (number - 1)))
        delay = step / 2 + self._rng() * step / 2
        if retry_after is not None:
            delay = max(delay, retry_after)
        return min(delay, MAX_BACKOFF_SECONDS)

    def _advised_wait(self, seconds: float, retry_after: float | None) -> float:
        """One of the gateway's advised 429 waits, in proportion to the retry base delay."""
        delay = seconds * self.retry_base_delay / DEFAULT_RETRY_BASE_DELAY
        if retry_after is not None:
            delay = max(delay, retry_after)
        return min(delay, MAX_BACKOFF_SECONDS)

    def _scrub(self, text: str) -> str:
        # A relay may echo the token in a 401 message; never let it reach the ledger.
        if self._api_key:
            text = text.replace(self._api_key, "[redacted]")
        return _BEARER.sub("Bearer [redacted]", text)

    def _log(self, record: AttemptRecord, prompt: str, *, will_retry: bool) -> None:
        level = logging.INFO if record.outcome == t.Outcome.IMAGE else logging.WARNING
        log.log(
            level,
            "gateway attempt %d model=%s size=%s status=%s outcome=%s billed=%s "
            "request_id=%s latency_ms=%d prompt_chars=%d code=%s retry=%s detail=%s",
            record.number,
            record.model,
            record.size_sent or "-",
            record.http_status if record.http_status is not None else "-",
            record.outcome,
            record.billed,
            record.request_id or "-",
            record.latency_ms,
            len(prompt),
            record.error_code or "-",
            will_retry,
            record.error_message[:200] or "-",
        )


# -- classification (pure functions) ---------------------------------------------------


def _validate(model: str, prompt: str, size: str, endpoint: str) -> None:
    if model not in catalog.MODELS:
        raise ValueError(f"unknown model {model!r}")
    if not catalog.accepts_endpoint(model, endpoint):
        raise ValueError(f"{model} has no {endpoint} endpoint")
    if not prompt or not prompt.strip():
        raise ValueError("the prompt is empty")
    # Only catalog values: the older gateway 400s others, the newer silently rounds them.
    if not catalog.valid_size(model, size):
        raise ValueError(f"{size!r} is not a catalog size for {model}")


def _options(model: str, quality: str, background: str, output_format: str) -> dict[str, str]:
    """The option fields this call sends: only those the route takes, with a value it
    lists; a token route's quality is always said (its price depends on it)."""
    asked = {"quality": quality, "background": background, "output_format": output_format}
    sent: dict[str, str] = {}
    for name, value in asked.items():
        allowed = catalog.options(model, name)
        if value and value not in allowed:
            raise ValueError(f"{model} does not take {name}={value!r}")
        if value:
            sent[name] = value
    if quality_sent := catalog.quality_sent(model, quality):
        sent["quality"] = quality_sent
    return sent


def _usage(payload: Any) -> tuple[int, int, int] | None:
    """(text, image, output) tokens of an answer's `usage`, when it says all three: the
    official route's `input_tokens_details` split of the input."""
    usage = payload.get("usage") if isinstance(payload, dict) else None
    if not isinstance(usage, dict):
        return None
    details = usage.get("input_tokens_details")
    if not isinstance(details, dict):
        return None
    values = (details.get("text_tokens"), details.get("image_tokens"), usage.get("output_tokens"))
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in values):
        return None
    text_tokens, image_tokens, output_tokens = values
    return int(text_tokens), int(image_tokens), int(output_tokens)  # type: ignore[arg-type]


def _reroutable(final: AttemptRecord, code: FailureCode) -> bool:
    """The route failed, not the request: a 502/503/504 or a read timeout."""
    if code in (FailureCode.MODERATION, FailureCode.CONTENT_POLICY, FailureCode.SOFT_REFUSAL):
        return False
    if final.http_status in REROUTABLE_STATUSES:
        return True
    return final.http_status is None and code == FailureCode.TIMEOUT


def _transport_verdict(exc: httpx.TransportError) -> _Verdict:
    detail = _transport_reason(exc)
    # Once the request is on the wire the gateway generates and bills, even if the
    # studio stops listening: a read timeout or a dropped answer is a paid call.
    if isinstance(exc, httpx.ReadTimeout | httpx.ReadError | httpx.RemoteProtocolError):
        return _Verdict(
            outcome=t.Outcome.TIMEOUT, code=FailureCode.TIMEOUT, detail=detail, retry=True
        )
    # Proof that this base never got the request: fail over to the next one.
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        return _Verdict(
            outcome=t.Outcome.UNREACHABLE,
            code=FailureCode.GATEWAY_UNREACHABLE,
            detail=detail,
            retry=True,
        )
    # Pool waits and write failures: the request never got through, but the base is
    # not to blame (or not provably): retried, never failed over.
    return _Verdict(
        outcome=t.Outcome.CONNECTION_ERROR,
        code=FailureCode.CONNECTION_ERROR,
        detail=detail,
        retry=True,
    )


def _transport_reason(exc: httpx.HTTPError) -> str:
    text = str(exc) or "no details"
    return f"{type(exc).__name__}: {text}"[:MAX_DETAIL_CHARS]


def _error_verdict(
    status: int,
    error: _GatewayError,
    model: str,
    size_sent: str,
    retry_after: float | None,
    endpoint: str = catalog.GENERATIONS,
) -> _Verdict:
    detail = _detail(error)
    text = f"{error.message} {error.code} {error.type}".lower()
    has_inputs = endpoint != catalog.GENERATIONS

    def rejected(code: FailureCode) -> _Verdict:
        return _Verdict(outcome=t.Outcome.REJECTED, code=code, detail=detail)

    # The relay answers an empty balance with 403 or 429 depending on the version.
    if error.code == "insufficient_user_quota" or "额度不足" in error.message:
        return rejected(FailureCode.QUOTA)
    if status == 401:
        return rejected(FailureCode.AUTH)
    if (
        status == 451
        or error.code == "moderation_blocked"
        or any(m in text for m in _MODERATION_MARKERS)
    ):
        return rejected(FailureCode.MODERATION)
    if any(m in text for m in _CONTENT_POLICY_MARKERS):
        return _Verdict(
            outcome=t.Outcome.CONTENT_POLICY, code=FailureCode.CONTENT_POLICY, detail=detail
        )
    if status == 429:
        if _names_bad_parameter(error, text):
            return rejected(FailureCode.INVALID_REQUEST)
        return _Verdict(
            outcome=t.Outcome.SATURATED,
            code=FailureCode.SATURATED,
            detail=detail,
            retry=True,
            retry_after=retry_after,
        )
    if status == 408:
        return _Verdict(
            outcome=t.Outcome.UPSTREAM_ERROR,
            code=FailureCode.UPSTREAM_ERROR,
            detail=detail,
            retry=True,
        )
    if has_inputs and (error.code == "invalid_image_file" or "invalid image file" in text):
        return rejected(FailureCode.INVALID_INPUT)
    if status < 500:
        return rejected(FailureCode.INVALID_REQUEST)
    if has_inputs and ("shell_api_error" in text or "unknown error" in text):
        # docs/gateway.md: "sporadic server-side errors are most often triggered by
        # oversized inputs". Sporadic, so retried; the designer is told what usually fixes it.
        return _Verdict(
            outcome=t.Outcome.UPSTREAM_ERROR,
            code=FailureCode.INPUT_ERROR,
            detail=detail,
            retry=True,
            retry_after=retry_after,
        )
    write_failed = "write_response_body_failed" in text
    # -vip 4K renders fail on compute fluctuation; the 2K size of the same ratio usually
    # goes through. A failed body write is a transport fault, not a 4K one: same size.
    is_4k = model == catalog.VIP and catalog.fallback_2k(size_sent) is not None
    return _Verdict(
        outcome=t.Outcome.UPSTREAM_ERROR,
        code=FailureCode.UPSTREAM_ERROR,
        detail=detail,
        retry=True,
        fallback_2k=status == 500 and is_4k and not write_failed,
        retry_after=retry_after,
    )


def _names_bad_parameter(error: _GatewayError, text: str) -> bool:
    if any(m in text for m in _SATURATION_MARKERS):
        return False
    return bool(error.param) or any(m in text for m in _BAD_PARAM_MARKERS)


# A JSON answer nested deeper than the decoder can follow (RecursionError).
_UNREADABLE: Any = object()


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
    except RecursionError:
        return _UNREADABLE


def _too_large_verdict(status: int | None, limit: int) -> _Verdict:
    """An answer past the cap: a 2xx is a call the gateway finished and bills (as an image
    that could not be read); anything else is a failure it does not bill."""
    if status is not None and 200 <= status < 300:
        return _Verdict(
            outcome=t.Outcome.BAD_IMAGE,
            code=FailureCode.BAD_RESPONSE,
            detail=f"the answer is longer than {limit} bytes",
            reason=messages.answer_too_large(limit),
        )
    return _Verdict(
        outcome=t.Outcome.UPSTREAM_ERROR,
        code=FailureCode.BAD_RESPONSE,
        detail=f"HTTP {status}: the answer is longer than {limit} bytes",
        retry=True,
        reason=messages.answer_too_large(limit),
    )


def _has_error(payload: dict[str, Any]) -> bool:
    return isinstance(payload.get("error"), dict | str)


def _parse_error(payload: Any, response: httpx.Response) -> _GatewayError:
    """`{"error": {...}}`, `{"status_code": N, "error": {...}}`, or not JSON at all."""
    if isinstance(payload, dict):
        error = payload.get("error")
        if isinstance(error, dict):
            return _GatewayError(
                message=_text(error.get("message")) or _text(error.get("localized_message")),
                type=_text(error.get("type")),
                code=_text(error.get("code")),
                param=_text(error.get("param")),
            )
        if isinstance(error, str):
            return _GatewayError(message=error, type="", code="", param="")
        message = _text(payload.get("message")) or _text(payload.get("detail"))
        if message:
            return _GatewayError(
                message=message, type="", code=_text(payload.get("code")), param=""
            )
    body = response.text.strip() or response.reason_phrase or f"HTTP {response.status_code}"
    return _GatewayError(message=body, type="", code="", param="")


def _detail(error: _GatewayError) -> str:
    message = error.message
    if error.code and error.code not in message:
        message = f"{error.code}: {message}"
    return _truncate(message, MAX_DETAIL_CHARS)


def _image_source(payload: Any) -> tuple[str, str] | None:
    if not isinstance(payload, dict):
        return None
    data = payload.get("data")
    if isinstance(data, list) and data and isinstance(data[0], dict):
        item = data[0]
        b64 = item.get("b64_json")
        if isinstance(b64, str) and b64.strip():
            return "b64", b64
        url = item.get("url")
        if isinstance(url, str) and url.strip():
            return ("b64", url) if url.startswith("data:") else ("url", url.strip())
    # A chat-shaped answer (seen from relays on the wrong route): markdown in content.
    return _markdown_image(_chat_content(payload))


def _markdown_image(text: str) -> tuple[str, str] | None:
    """The image in a chat answer: `![image](https://…)` usually, `![](data:…)` rarely,
    and from some relays a bare link or data URL with no markdown around it."""
    text = text or ""
    match = _MARKDOWN_IMAGE.search(text) or _BARE_IMAGE.search(text)
    if match is None:
        return None
    src = match["src"]
    return ("b64", src) if src.startswith("data:") else ("url", src)


def _chat_content(payload: dict[str, Any]) -> str:
    choices = payload.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        message = choices[0].get("message")
        if isinstance(message, dict):
            content = message.get("content")
            if isinstance(content, list):
                # Content parts, as OpenAI-style multimodal answers come: text parts as
                # they are, an image part as markdown so one parser finds it.
                return "\n".join(_part_text(part) for part in content)
            return _text(content)
    return ""


def _part_text(part: Any) -> str:
    if not isinstance(part, dict):
        return _text(part)
    if part.get("type") == "image_url":
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, dict) else image
        return f"![image]({_text(url)})"
    return _text(part.get("text"))


def _answer_words(payload: dict[str, Any], src: str) -> str:
    """What the model said around the image in a chat answer, without the image itself."""
    content = _chat_content(payload)
    if not content:
        return ""
    without = _MARKDOWN_IMAGE.sub(" ", content).replace(src, " ")
    return _truncate(" ".join(without.split()), MAX_DETAIL_CHARS)


def _last_text(messages: list[dict[str, Any]]) -> str:
    content = messages[-1].get("content")
    if isinstance(content, list):
        return " ".join(_text(p.get("text")) for p in content if isinstance(p, dict))
    return _text(content)


def _refusal_text(payload: Any, response: httpx.Response) -> str:
    if isinstance(payload, dict):
        candidates = [_chat_content(payload)]
        candidates += [_text(payload.get(key)) for key in ("message", "content", "text", "detail")]
        data = payload.get("data")
        if isinstance(data, list) and data and isinstance(data[0], dict):
            candidates += [_text(data[0].get(k)) for k in ("text", "content", "revised_prompt")]
        error = payload.get("error")
        if isinstance(error, dict):
            candidates.append(_text(error.get("message")))
        words = next((c for c in candidates if c.strip()), "")
    elif payload is None:
        words = response.text
    else:
        words = _text(payload)
    return _truncate(" ".join(words.split()), MAX_DETAIL_CHARS)


def _decode_b64(value: str) -> bytes:
    raw = value.strip()
    # Look at the head only: a 4K answer is a 20 MB string, and a regex pass over all of
    # it, or a split/join copy, costs as much as the decode itself.
    head, comma, rest = raw[:200].partition(",")
    if comma and _DATA_URI.match(head + comma):
        raw = rest + raw[200:]
    # Line-wrapped base64 (76 columns) is legal; `in` scans in C, the copy only if needed.
    if any(ws in raw for ws in ("\n", "\r", " ", "\t")):
        raw = "".join(raw.split())
    # Some relays drop the padding.
    raw += "=" * (-len(raw) % 4)
    try:
        image = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not valid base64") from None
    if not image:
        raise ValueError("empty image")
    return image


def _request_id(response: httpx.Response) -> str:
    # Older pages name it request-id, newer ones x-request-id.
    return response.headers.get("request-id") or response.headers.get("x-request-id") or ""


def _trace_id(detail: str) -> str:
    match = _TRACE_ID.search(detail)
    return match["id"] if match else ""


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "").strip()
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    default = {"http": 80, "https": 443}.get(url.scheme)
    return url.scheme, url.host.lower(), url.port or default


def _safe_url(url: str) -> str:
    # Result links carry signed query strings; the path is enough to find the file.
    return _truncate(url.split("?", 1)[0], 200)


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def longest_timeout() -> float:
    """The longest this studio may wait for one call, whatever the route: the environment's
    IMAGESTUDIO_UPSTREAM_TIMEOUT when set, else the longest timeout of the catalog."""
    from django.conf import settings

    if settings.UPSTREAM_TIMEOUT is not None:
        return float(settings.UPSTREAM_TIMEOUT)
    return max(catalog.catalog_timeout(model) for model in catalog.MODELS)


# -- one client per process ------------------------------------------------------------

_shared: GatewayClient | None = None
_shared_pid = 0
_shared_lock = threading.Lock()


def get_client() -> GatewayClient:
    """The process's shared client, built from settings on first use.

    Keyed on the pid: a client created before a prefork worker forked would share its
    pooled sockets with the parent, so a child builds its own."""
    global _shared, _shared_pid
    client, pid = _shared, os.getpid()
    if client is not None and _shared_pid == pid:
        return client
    with _shared_lock:
        if _shared is None or _shared_pid != pid:
            _shared, _shared_pid = GatewayClient.from_settings(), pid
        return _shared


def reset_client() -> None:
    """Drop the shared client (tests, or after the UPSTREAM_* settings changed)."""
    global _shared
    with _shared_lock:
        old, _shared = _shared, None
    if old is not None:
        old.close()
