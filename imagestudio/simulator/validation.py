"""Request validation with the older docs' strictness: what passes here passes upstream."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from imagestudio import catalog
from imagestudio.simulator import responses, triggers
from imagestudio.simulator.responses import Reply

IMAGES = "images"
CHAT = "chat"
RESPONSE_FORMATS = ("url", "b64_json")
AUTO = "auto"
# The older -vip page rejects these; the client must never send them.
VIP_REJECTED = ("quality", "n")
# The older -all page rejects these (the newer one silently ignores `size`).
ALL_REJECTED = ("size", "n", "quality", "aspect_ratio")


@dataclass(frozen=True)
class Spec:
    endpoint: str
    model: str
    triggers: triggers.Triggers
    width: int
    height: int
    size_sent: str
    response_format: str

    @property
    def prompt(self) -> str:
        return self.triggers.prompt

    @property
    def is_4k(self) -> bool:
        size = catalog.VIP_SIZES_BY_VALUE.get(self.size_sent)
        return size is not None and size.tier == catalog.TIER_4K.id


def all_resolution(clean_prompt: str) -> tuple[int, int]:
    """-all reads its size from a verified phrasing at the very start of the prompt."""
    matches = [p for p in catalog.ALL_PHRASINGS if clean_prompt.startswith(p.value)]
    if not matches:
        return catalog.ALL_DEFAULT_RESOLUTION
    best = max(matches, key=lambda p: len(p.value))
    return best.width, best.height


def vip_resolution(size: str) -> tuple[int, int]:
    value = catalog.DEFAULT_VIP_SIZE if size == AUTO else size
    chosen = catalog.VIP_SIZES_BY_VALUE[value]
    return chosen.width, chosen.height


def _model(body: dict[str, Any], request_id: str) -> str | Reply:
    model = body.get("model")
    if model not in catalog.MODELS:
        # The relay answers an unknown model with model_not_found; a 400 keeps a client
        # from retrying it.
        return responses.invalid_request(
            f"model {model!r} is not available: use one of {', '.join(catalog.MODELS)}",
            request_id,
            param="model",
            code="model_not_found",
        )
    return model


def _rejected_fields(body: dict[str, Any], model: str, request_id: str) -> Reply | None:
    rejected = VIP_REJECTED if model == catalog.VIP else ALL_REJECTED
    for name in rejected:
        # Presence alone is an error, `null` included: the strict reading of the docs.
        if name in body:
            return responses.invalid_request(
                f"{name} is not supported by {model}; do not pass it", request_id, param=name
            )
    return None


def _common(body: dict[str, Any], prompt: Any, request_id: str) -> tuple[str, str] | Reply:
    """Model and prompt, checked the same way on both endpoints."""
    model = _model(body, request_id)
    if isinstance(model, Reply):
        return model
    if not isinstance(prompt, str) or not prompt.strip():
        return responses.invalid_request("prompt is required", request_id, param="prompt")
    if body.get("stream"):
        return responses.invalid_request(
            f"stream is not supported by {model}", request_id, param="stream"
        )
    return model, prompt


def images_generation(body: dict[str, Any], request_id: str) -> Spec | Reply:
    checked = _common(body, body.get("prompt"), request_id)
    if isinstance(checked, Reply):
        return checked
    model, prompt = checked
    if rejected := _rejected_fields(body, model, request_id):
        return rejected
    response_format = body.get("response_format", "url")
    if response_format not in RESPONSE_FORMATS:
        return responses.invalid_request(
            f"response_format must be url or b64_json, not {response_format!r}",
            request_id,
            param="response_format",
        )
    parsed = triggers.parse(prompt)
    if model == catalog.VIP:
        size = body.get("size", AUTO)
        if size != AUTO and size not in catalog.VIP_SIZES_BY_VALUE:
            return responses.invalid_request(
                f"size {size!r} is not one of the 30 supported sizes (or auto)",
                request_id,
                param="size",
            )
        width, height = vip_resolution(size)
    else:
        size = ""
        width, height = all_resolution(parsed.clean_prompt)
    return Spec(IMAGES, model, parsed, width, height, size, response_format)


def _last_user_text(messages: Any) -> str | None:
    if not isinstance(messages, list):
        return None
    users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
    if not users:
        return None
    content = users[-1].get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [
            part.get("text", "")
            for part in content
            if isinstance(part, dict) and part.get("type") == "text"
        ]
        return "\n".join(t for t in texts if isinstance(t, str))
    return None


def chat_completion(body: dict[str, Any], request_id: str) -> Spec | Reply:
    prompt = _last_user_text(body.get("messages"))
    if prompt is None:
        model = _model(body, request_id)
        if isinstance(model, Reply):
            return model
        return responses.invalid_request(
            "messages must include a user message", request_id, param="messages"
        )
    checked = _common(body, prompt, request_id)
    if isinstance(checked, Reply):
        return checked
    model, prompt = checked
    parsed = triggers.parse(prompt)
    if model == catalog.VIP:
        # Chat has no size field: -vip draws its default size.
        size = catalog.DEFAULT_VIP_SIZE
        width, height = vip_resolution(size)
    else:
        size = ""
        width, height = all_resolution(parsed.clean_prompt)
    return Spec(CHAT, model, parsed, width, height, size, "url")


def raw_prompt(endpoint: str, body: dict[str, Any]) -> str:
    """The prompt before validation, so `[sim:401]` answers before any 400 as auth does."""
    prompt = body.get("prompt") if endpoint == IMAGES else _last_user_text(body.get("messages"))
    return prompt if isinstance(prompt, str) else ""
