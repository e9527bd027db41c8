"""What the simulated gateway decides for one request: which fault, how long, what body."""

from __future__ import annotations

import base64
import collections
import dataclasses
import json
import os
import random
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from imagestudio import catalog
from imagestudio.simulator import (
    masks,
    multipart,
    placeholder,
    responses,
    route_latency,
    transparency,
    triggers,
    validation,
)
from imagestudio.simulator.calllog import CallLog
from imagestudio.simulator.config import SimConfig
from imagestudio.simulator.responses import Hang, Json, Reply
from imagestudio.simulator.store import FileStore
from imagestudio.simulator.validation import Spec

B64_PREFIX = "data:image/png;base64,"
# The docs: "short-latency calls are usually soft refusals".
SOFT_REFUSAL_LATENCY_SHARE = 0.25

# Drawing holds the GIL much of the time: with fifty threads drawing at once, the accept
# loop starves and late arrivals start their latency clock a second late. A few drawing
# slots keep the other threads free to admit requests, so parallel calls still overlap.
RENDER_SLOTS = max(1, os.cpu_count() or 1)

type Answer = Reply | Hang


class Gateway:
    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.files = FileStore(config.url_ttl)
        self.counters = triggers.OnceCounters()
        # Set on shutdown so sleeping requests wake up instead of holding the process.
        self.stopping = threading.Event()
        self._rng = random.Random(config.seed)
        self._rng_lock = threading.Lock()
        self._render_slots = threading.BoundedSemaphore(RENDER_SLOTS)
        # What the real gateway would invoice: every answered 200 (image, refusal,
        # unreadable bytes) and every call it kept working on until the client left.
        self.billed_calls = 0
        # And what it would invoice for each, in dollars: (model, amount) per billed call,
        # so a test compares the ledger with the gateway's own bill.
        self.bills: list[tuple[str, Decimal]] = []
        # Result links that fail when downloaded: name -> (fault, times left or None).
        self._cdn_faults: dict[str, tuple[str, int | None]] = {}
        # Calls received and not yet answered (a test kills a worker once its call is here).
        self.in_flight = 0
        self.peak_in_flight = 0
        self._billed_lock = threading.Lock()
        # What the calls carried, newest last (GET /_sim/received): the studio's tests
        # assert on the text the gateway got, not on what the studio says it sent.
        self.received: collections.deque[dict[str, object]] = collections.deque(maxlen=2000)
        # The Log Query API's rows: one per billed call (GET /api/log/self).
        self.log = CallLog(token=config.log_token, clock_skew=config.log_clock_skew)
        # The model each request in progress asked for, by request id (for its log row).
        self._models: dict[str, str] = {}

    def arrived(self, delta: int) -> None:
        with self._billed_lock:
            self.in_flight += delta
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)

    def bill(self, answer: Answer, *, rid: str = "", path: str = "", started: float = 0.0) -> None:
        """Count `answer` as billed when the real gateway would bill it: a 200 whatever
        became of it (a client that went away is billed too), or a hang; and log it."""
        with self._billed_lock:
            model = self._models.pop(rid, "")
        if isinstance(answer, Hang) or answer.status == 200:
            with self._billed_lock:
                self.billed_calls += 1
                self.bills.append((answer.model, answer.bill))
            usage = answer.body.get("usage") if isinstance(answer, Reply) else None
            self.log.bill(
                request_id=rid,
                model=model,
                path=path,
                use_time=time.monotonic() - started if started else 0.0,
                usage=usage if isinstance(usage, dict) else None,
                # What this answer is billed (n images, a token route's usage or the top
                # of its range when it had none): the same figure as `bills`.
                usd=answer.bill if answer.model else None,
            )

    @property
    def billed_usd(self) -> Decimal:
        with self._billed_lock:
            return sum((amount for _, amount in self.bills), Decimal("0"))

    def billed_by_model(self) -> dict[str, str]:
        with self._billed_lock:
            totals: dict[str, Decimal] = {}
            for model, amount in self.bills:
                totals[model] = totals.get(model, Decimal("0")) + amount
        return {model: str(total) for model, total in totals.items()}

    # -- randomness, shared by all request threads ----------------------------------------

    def _chance(self, rate: float) -> bool:
        if rate <= 0:
            return False
        with self._rng_lock:
            return self._rng.random() < rate

    def _latency(self, spec: Spec) -> float:
        if spec.triggers.latency is not None:
            return spec.triggers.latency
        own = route_latency.of(self.config.route_latency, spec.model)
        if own is not None:
            return own
        low, high = self.config.latency_min, self.config.latency_max
        with self._rng_lock:
            return self._rng.uniform(low, high)

    def _sleep_until(self, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining > 0:
            self.stopping.wait(remaining)

    # -- the pipeline ---------------------------------------------------------------------

    def handle(
        self,
        endpoint: str,
        authorization: str | None,
        raw: bytes,
        base_url: str,
        rid: str,
        content_type: str | None = None,
    ) -> Answer:
        started = time.monotonic()
        if not _bearer_token(authorization):
            return responses.invalid_token(rid)
        body = (
            validation.read_form(content_type, raw, rid)
            if endpoint == validation.EDITS
            else _read_json(raw, rid)
        )
        if isinstance(body, Reply):
            return body
        fields = body.fields() if isinstance(body, multipart.Form) else body
        with self._billed_lock:
            self._models[rid] = str(fields.get("model") or "")
        text = validation.raw_prompt(endpoint, body)
        journal = self._journal(endpoint, body, text, rid)
        early = triggers.parse(text)
        if self.counters.fires(early, triggers.AUTH):
            return responses.invalid_token(rid)
        if isinstance(body, multipart.Form):
            checked = validation.images_edit(body, rid)
            if not isinstance(checked, Reply):
                checked = masks.check(body, checked, rid)
        elif endpoint == validation.IMAGES:
            checked = validation.images_generation(body, rid)
        else:
            checked = validation.chat_completion(
                body, rid, lambda url: self._own_file(url, base_url)
            )
        if isinstance(checked, Reply):
            return checked
        fields = body.fields() if isinstance(body, multipart.Form) else body
        if transparency.wanted(checked.model, fields.get("background")):
            checked = dataclasses.replace(checked, transparent=True)
        return self._generate(checked, base_url, rid, started, journal)

    def _journal(
        self, endpoint: str, body: dict[str, Any] | multipart.Form, text: str, rid: str
    ) -> dict[str, object]:
        if isinstance(body, multipart.Form):
            fields: dict[str, Any] = body.fields()
            pictures = sum(p.filename is not None for p in body.parts)
        else:
            fields, pictures = body, 0
        row: dict[str, object] = {
            "endpoint": endpoint,
            "model": fields.get("model"),
            "prompt": text,
            "size": fields.get("size"),
            "pictures": pictures,
            # Seconds this call is held by design before its answer (its latency, a soft
            # refusal's share, a hang's hold; 0 when refused at once): tests assert pacing
            # on it instead of on a wall clock that a loaded machine stretches.
            "held_s": 0.0,
            "request_id": rid,
            # Unix time: when a call reached the gateway (bench k times a reroute by it).
            "received_at": time.time(),
        }
        self.received.append(row)
        return row

    def _own_file(self, url: str, base_url: str) -> bytes | None:
        """A chat image_url that is one of our /files/ links (a multi-turn edit's base).

        Read from the store rather than over HTTP: same bytes, no request to ourselves.
        Other hosts are never fetched (None: ignored); an expired link of ours is b"", an
        unreadable image, as a download of the CDN's 404 would be.
        """
        parts, own = urlsplit(url), urlsplit(base_url)
        if parts.scheme not in ("http", "https") or parts.netloc.lower() != own.netloc.lower():
            return None
        name = parts.path.removeprefix("/files/")
        return self.files.get(name) or b""

    def _generate(
        self,
        spec: Spec,
        base_url: str,
        rid: str,
        started: float,
        journal: dict[str, object] | None = None,
    ) -> Answer:
        journal = {} if journal is None else journal
        if spec.triggers.unknown:
            return responses.invalid_request(
                f"unknown simulator trigger {', '.join(spec.triggers.unknown)}; valid: "
                + ", ".join(f"[sim:{f}]" for f in triggers.FAULTS)
                + ", [sim:<fault>xN], [sim:latency=S]",
                rid,
                param="prompt",
            )
        # Refusals the gateway makes before any generation starts come back at once.
        before = self._pre_generation_fault(spec, rid)
        if before is not None:
            return before
        latency = self._latency(spec)
        deadline = started + latency
        journal["held_s"] = latency
        fault = self._post_generation_fault(spec)
        if fault == triggers.TIMEOUT:
            journal["held_s"] = self.config.timeout_hold
            return Hang(self.config.timeout_hold, model=spec.model, bill=_hang_bill(spec))
        if fault == triggers.SOFT_REFUSAL:
            journal["held_s"] = latency * SOFT_REFUSAL_LATENCY_SHARE
            self._sleep_until(started + latency * SOFT_REFUSAL_LATENCY_SHARE)
            return self._soft_refusal(spec)
        failure = _POST_FAILURES.get(fault or "")
        if failure is not None:
            self._sleep_until(deadline)
            return failure(rid)
        # Drawing counts towards the latency, so many parallel calls still take ~latency.
        if fault == triggers.CORRUPT:
            image = placeholder.corrupt_bytes(rid)
        else:
            with self._render_slots:
                image = placeholder.render_png(
                    spec.width,
                    spec.height,
                    prompt=spec.triggers.clean_prompt,
                    model=spec.model,
                    request_id=rid,
                    inputs=spec.inputs,
                )
                if spec.mask:
                    image = masks.paint(image, spec.inputs[0], spec.mask)
                if spec.transparent:
                    image = transparency.cut_out(image)
        reply = self._success(spec, image, base_url)
        self._sleep_until(deadline)
        return reply

    def _pre_generation_fault(self, spec: Spec, rid: str) -> Reply | None:
        fires = self.counters.fires
        if fires(spec.triggers, triggers.QUOTA):
            return responses.insufficient_quota(rid)
        if fires(spec.triggers, triggers.MODERATION):
            return responses.moderation_blocked(rid)
        if fires(spec.triggers, triggers.SATURATED) or self._chance(self.config.fault_429):
            return responses.saturated(rid)
        if fires(spec.triggers, triggers.UNAVAILABLE_503) or self._route_fault(spec) == 503:
            return responses.unavailable(rid)
        return None

    def _route_fault(self, spec: Spec) -> int | None:
        """The status a --fail-route flag fails this call with, if any. Drawn once per
        call: the 503 is decided before generation, 502/504 after it."""
        for fault in self.config.fail_routes:
            matches = fault.model == spec.model and fault.tier in ("*", spec.tier)
            if matches and self._chance(fault.share):
                return fault.status
        return None

    def _post_generation_fault(self, spec: Spec) -> str | None:
        routed = {502: triggers.BAD_GATEWAY_502, 504: triggers.GATEWAY_TIMEOUT_504}
        status = (
            self._route_fault(spec)
            if any(f.status in routed for f in self.config.fail_routes)
            else None
        )
        if status in routed:
            return routed[status]
        for fault in _POST_ORDER:
            if fault == triggers.VIP_4K_500 and not spec.is_4k:
                # Only 4K sizes fail this way: the client's 2K retry of the same prompt
                # then succeeds, which is the behaviour being demonstrated.
                continue
            if self.counters.fires(spec.triggers, fault):
                return fault
        config = self.config
        random_faults = (
            (triggers.TIMEOUT, config.fault_timeout),
            (
                triggers.OVERSIZE,
                config.oversize_error_rate if spec.has_oversized_input else 0.0,
            ),
            (triggers.CONTENT_POLICY, config.fault_content_policy),
            (triggers.SOFT_REFUSAL, config.fault_soft_refusal),
            (triggers.VIP_4K_500, config.fault_4k_500 if spec.is_4k else 0.0),
        )
        return next((fault for fault, rate in random_faults if self._chance(rate)), None)

    # -- bodies ---------------------------------------------------------------------------

    def _put_link(self, spec: Spec, image: bytes) -> str:
        name = self.files.put(image)
        for fault in triggers.CDN_FAULTS:
            if fault in spec.triggers.faults:
                with self._billed_lock:
                    self._cdn_faults[name] = (fault, spec.triggers.faults[fault])
                break
        return name

    def cdn_fault(self, name: str) -> str | None:
        """The fault this download of the result link `name` meets, if any."""
        with self._billed_lock:
            fault, left = self._cdn_faults.get(name, ("", 0))
            if not fault or left == 0:
                return None
            if left is not None:
                self._cdn_faults[name] = (fault, left - 1)
            return fault

    def _soft_refusal(self, spec: Spec) -> Reply:
        if spec.endpoint == validation.CHAT:
            body = responses.chat_body(spec.model, responses.SOFT_REFUSAL_TEXT, spec.prompt)
        else:
            body = responses.images_soft_refusal(spec.prompt)
        bill = catalog.gateway_price(spec.model)
        if catalog.MODELS[spec.model].per_token:
            usage = _usage(spec, output=False)
            body["usage"] = usage
            bill = _usage_bill(spec.model, usage)
        return Reply(200, body, model=spec.model, bill=bill)

    def _success(self, spec: Spec, image: bytes, base_url: str) -> Reply:
        inline = spec.response_format == "b64_json"
        if spec.endpoint == validation.CHAT and not (
            spec.model == catalog.VIP and self.config.chat_vip_images_shape
        ):
            # The chat answer is markdown; inline it is a data URL, prefixed whatever
            # --b64-prefix says (without the prefix it would not be a URL).
            if inline or self.config.chat_inline_images:
                link = B64_PREFIX + base64.b64encode(image).decode("ascii")
            else:
                link = f"{base_url}/files/{self._put_link(spec, image)}"
            return Reply(
                200,
                responses.chat_body(spec.model, f"![image]({link})", spec.prompt),
                model=spec.model,
                bill=catalog.gateway_price(spec.model),
            )
        if inline:
            encoded = base64.b64encode(image).decode("ascii")
            # The official route answers raw base64, never a data: URL.
            prefixed = self.config.b64_prefix and catalog.sends_response_format(spec.model)
            item: Json = {"b64_json": B64_PREFIX + encoded if prefixed else encoded}
        else:
            item = {"url": f"{base_url}/files/{self._put_link(spec, image)}"}
        # Images-shaped: the Images endpoints, and -vip chat with --chat-vip-images-shape
        # (the older -vip page). `n` images where the route takes n (each billed).
        items = [item] * spec.n
        if catalog.MODELS[spec.model].per_token:
            usage = _usage(spec, output=True)
            if triggers.NO_USAGE in spec.triggers.faults:
                body = responses.images_body(items, spec.prompt, usage=None)
                bill = _hang_bill(spec)
            else:
                body = responses.images_body(items, spec.prompt, usage=usage)
                bill = _usage_bill(spec.model, usage)
        else:
            body = responses.images_body(
                items, spec.prompt, usage=responses.image_usage(spec.prompt)
            )
            bill = catalog.gateway_price(spec.model) * spec.n
        return Reply(200, body, model=spec.model, bill=bill)


_POST_ORDER: tuple[str, ...] = (
    triggers.TIMEOUT,
    triggers.GATEWAY_TIMEOUT_504,
    triggers.BAD_GATEWAY_502,
    triggers.IMAGE_SAFETY,
    triggers.OVERSIZE,
    triggers.CONTENT_POLICY,
    triggers.VIP_4K_500,
    triggers.TRANSIENT_500,
    triggers.WRITE_FAILED,
    triggers.SOFT_REFUSAL,
    triggers.CORRUPT,
)


def _usage(spec: Spec, *, output: bool) -> Json:
    """A token route's usage for this call: what the catalog expects at this size and
    quality, the prompt's words and the reference pictures."""
    estimate = catalog.MODELS[spec.model].estimate
    assert estimate is not None
    text = max(1, len(spec.triggers.clean_prompt) // 4)
    images = len(spec.inputs) * estimate.image_input_tokens
    out = catalog.expected_output_tokens(spec.model, spec.size_sent, spec.quality) if output else 0
    return responses.token_usage(text, images, out * spec.n)


def _usage_bill(model: str, usage: Json) -> Decimal:
    details = usage["input_tokens_details"]
    return catalog.token_cost(
        model,
        text_tokens=details["text_tokens"],
        image_tokens=details["image_tokens"],
        output_tokens=usage["output_tokens"],
        prices=catalog.MODELS[model].token_prices,
    )


def _hang_bill(spec: Spec) -> Decimal:
    """What a call the client gave up on (or an answer without usage) is billed: the
    price, or for a token route the top of its estimate, at the catalog's prices."""
    model = catalog.MODELS[spec.model]
    if not model.per_token:
        return model.price_per_call
    return catalog.estimate_range(
        spec.model, spec.size_sent, spec.quality, len(spec.inputs), prices=model.token_prices
    )[1]


_POST_FAILURES: dict[str, Callable[[str], Reply]] = {
    triggers.CONTENT_POLICY: lambda rid: responses.content_policy(),
    triggers.OVERSIZE: lambda rid: responses.oversized_input_failure(),
    triggers.VIP_4K_500: responses.vip_4k_failure,
    triggers.TRANSIENT_500: responses.transient_500,
    triggers.WRITE_FAILED: responses.write_failed,
    triggers.GATEWAY_TIMEOUT_504: responses.gateway_timeout,
    triggers.BAD_GATEWAY_502: responses.bad_gateway,
    triggers.IMAGE_SAFETY: responses.image_safety,
}


def _read_json(raw: bytes, rid: str) -> Json | Reply:
    try:
        body = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError):
        return responses.invalid_request("the body is not valid JSON", rid)
    if not isinstance(body, dict):
        return responses.invalid_request("the body must be a JSON object", rid)
    return body


def _bearer_token(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""
