"""Bodies the gateway answers with: its error shapes, the Images shape, the chat shape."""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

type Json = dict[str, Any]

SATURATED_MESSAGE = "当前分组上游负载已饱和，请稍后再试"
INVALID_TOKEN_MESSAGE = "无效的令牌"
SOFT_REFUSAL_TEXT = (
    "I can't help with that. Sorry, this request involves content I'm not able to "
    "generate. (simulated soft refusal)"
)
MODERATION_MESSAGE = (
    "Your request was rejected as a result of our safety system. Your request may contain "
    "content that is not allowed by our safety system."
)


@dataclass(frozen=True)
class Reply:
    status: int
    body: Json
    headers: dict[str, str] = field(default_factory=dict)
    # The model that answered and what the gateway bills for this answer (a 200 only).
    model: str = ""
    bill: Decimal = Decimal("0")


@dataclass(frozen=True)
class Hang:
    """Hold the connection this long, then close it without a single byte of answer."""

    seconds: float
    # A client that gives up is billed all the same.
    model: str = ""
    bill: Decimal = Decimal("0")


def new_request_id() -> str:
    # The relay's ids are a timestamp followed by random characters.
    return time.strftime("%Y%m%d%H%M%S") + secrets.token_hex(8)


def _error(
    status: int,
    message: str,
    *,
    kind: str,
    code: str | None,
    param: str = "",
    **extra: Any,
) -> Reply:
    return Reply(
        status,
        {"error": {"message": message, "type": kind, "param": param, "code": code, **extra}},
    )


def invalid_request(
    message: str, request_id: str, *, param: str = "", code: str | None = None
) -> Reply:
    return _error(
        400,
        f"{message} (request id: {request_id})",
        kind="invalid_request_error",
        code=code,
        param=param,
    )


def invalid_token(request_id: str) -> Reply:
    return _error(
        401, f"{INVALID_TOKEN_MESSAGE} (request id: {request_id})", kind="new_api_error", code=""
    )


def insufficient_quota(request_id: str) -> Reply:
    # The relay answers an empty balance with 403, not 429.
    return _error(
        403,
        f"用户额度不足, 剩余额度: $0.000000 (request id: {request_id})",
        kind="new_api_error",
        code="insufficient_user_quota",
    )


def moderation_blocked(request_id: str) -> Reply:
    return _error(
        400,
        f"{MODERATION_MESSAGE} (request id: {request_id})",
        kind="invalid_request_error",
        code="moderation_blocked",
        param="prompt",
    )


def saturated(request_id: str) -> Reply:
    return _error(
        429, f"{SATURATED_MESSAGE} (request id: {request_id})", kind="new_api_error", code=None
    )


def content_policy() -> Reply:
    # Copied from the gateway's FAQ: the trace id replaces the request id in the message.
    return _error(
        500,
        "Image was not generated as expected. Please adjust the prompt and retry "
        f"(traceid: {uuid.uuid4().hex})",
        kind="invalid_request_error",
        code=None,
        localized_message="Unknown error",
    )


def invalid_image_file(number: int) -> Reply:
    # The gateway's own words for an input it cannot read (docs/gateway.md, "POST /images/edits").
    return _error(
        400,
        f"Invalid image file or mode for image {number}, please check your image file.",
        kind="shell_api_error",
        code="invalid_image_file",
    )


def oversized_input_failure() -> Reply:
    # The docs blame oversized inputs for "shell_api_error / Unknown error"; the body is
    # the FAQ's 500 (localized_message "Unknown error") with the shell type. A 5xx: not billed.
    return _error(
        500,
        "Unknown error",
        kind="shell_api_error",
        code=None,
        localized_message="Unknown error",
    )


def vip_4k_failure(request_id: str) -> Reply:
    # The -vip 4K fault echoes its status inside the body; the client keys its 2K
    # fallback on it.
    reply = _error(
        500,
        f"upstream compute fluctuation while rendering the image (request id: {request_id})",
        kind="invalid_request_error",
        code=None,
    )
    return Reply(500, {"status_code": 500, **reply.body})


def write_failed(request_id: str) -> Reply:
    return _error(
        500,
        f"write_response_body_failed (request id: {request_id})",
        kind="new_api_error",
        code="write_response_body_failed",
    )


def transient_500(request_id: str) -> Reply:
    return _error(
        500,
        f"bad response status code 502 (request id: {request_id})",
        kind="new_api_error",
        code="bad_response_status_code",
    )


def gateway_timeout(request_id: str) -> Reply:
    # The -vip route's "504 after about five minutes" (docs/gateway.md). Not billed.
    return _error(
        504,
        f"upstream did not answer in time (request id: {request_id})",
        kind="new_api_error",
        code="gateway_timeout",
    )


def unavailable(request_id: str) -> Reply:
    return _error(
        503,
        f"no available channel for this model now (request id: {request_id})",
        kind="new_api_error",
        code="service_unavailable",
    )


def bad_gateway(request_id: str) -> Reply:
    return _error(
        502,
        f"bad gateway: the upstream closed the connection (request id: {request_id})",
        kind="new_api_error",
        code="bad_gateway",
    )


def image_safety(request_id: str) -> Reply:
    # Filtered after generation (docs/gateway.md, notice 2026-08-25). Not billed.
    return _error(
        451,
        f"The generated image was filtered by the safety system (request id: {request_id})",
        kind="invalid_request_error",
        code="image_safety",
    )


def unknown_parameter(name: str, request_id: str) -> Reply:
    # The official route's answer to a field it does not know (response_format).
    return _error(
        400,
        f"Unknown parameter: '{name}'. (request id: {request_id})",
        kind="invalid_request_error",
        code="unknown_parameter",
        param=name,
    )


def not_found(method: str, path: str) -> Reply:
    return _error(
        404, f"Invalid URL ({method} {path})", kind="invalid_request_error", code="not_found"
    )


def image_usage(prompt: str) -> Json:
    input_tokens = max(1, len(prompt) // 4)
    output_tokens = 1056
    return {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "total_tokens": input_tokens + output_tokens,
    }


def text_usage(prompt: str, text: str) -> Json:
    input_tokens, output_tokens = max(1, len(prompt) // 4), max(1, len(text) // 4)
    return {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "total_tokens": input_tokens + output_tokens,
    }


def token_usage(text_tokens: int, image_tokens: int, output_tokens: int) -> Json:
    """The official route's usage: input split into text and image tokens."""
    return {
        "input_tokens": text_tokens + image_tokens,
        "input_tokens_details": {"text_tokens": text_tokens, "image_tokens": image_tokens},
        "output_tokens": output_tokens,
        "total_tokens": text_tokens + image_tokens + output_tokens,
    }


def images_body(items: Json | list[Json], prompt: str, usage: Json | None = None) -> Json:
    body: Json = {
        "created": int(time.time()),
        "data": items if isinstance(items, list) else [items],
    }
    if usage is not None:
        body["usage"] = usage
    return body


def images_soft_refusal(prompt: str) -> Json:
    # The Images shape has no text field: an empty `data` list plus the text (see the
    # package docstring for why).
    return {
        "created": int(time.time()),
        "data": [],
        "message": SOFT_REFUSAL_TEXT,
        "usage": text_usage(prompt, SOFT_REFUSAL_TEXT),
    }


def chat_body(model: str, content: str, prompt: str) -> Json:
    usage = text_usage(prompt, content)
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": usage["input_tokens"],
            "completion_tokens": usage["output_tokens"],
            "total_tokens": usage["total_tokens"],
        },
    }
