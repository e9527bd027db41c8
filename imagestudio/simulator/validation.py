"""Request validation with the older docs' strictness: what passes here passes upstream."""

from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PIL import Image

from imagestudio import catalog
from imagestudio.simulator import multipart, responses, triggers
from imagestudio.simulator.responses import Reply

IMAGES = "images"
EDITS = "edits"
CHAT = "chat"
RESPONSE_FORMATS = ("url", "b64_json")
AUTO = "auto"
# The older -vip page rejects these; the client must never send them.
VIP_REJECTED = ("quality", "n")
# The older -all page rejects these (the newer one silently ignores `size`).
ALL_REJECTED = ("size", "n", "quality", "aspect_ratio")
# The gateway's cap on inputs per call (the OpenAI Images API's "up to 16 images"). The
# studio's own cap, catalog.MAX_INPUTS, is lower on purpose; this is the gateway's.
GATEWAY_MAX_INPUTS = 16
# /images/edits file fields: the docs repeat `image`; the official SDK sends `image[]`.
IMAGE_FIELDS = ("image", "image[]")
# -vip accepts a mask and regenerates the whole image anyway; it is read and ignored.
IGNORED_FILE_FIELDS = ("mask",)
_MB = 1024 * 1024

# What a chat image URL resolves to: bytes, b"" for a link that no longer serves an image,
# or None for a link the simulator does not fetch (not its own).
type UrlResolver = Callable[[str], bytes | None]


@dataclass(frozen=True)
class Spec:
    endpoint: str
    model: str
    triggers: triggers.Triggers
    width: int
    height: int
    size_sent: str
    response_format: str
    # Input images in prompt order (image1, image2, ...): edit files or chat image_urls.
    inputs: tuple[bytes, ...] = ()
    # A checked mask over image1 (simulator.masks), on a route that repaints locally.
    mask: bytes = b""
    quality: str = ""
    n: int = 1
    # A transparent background asked for on a route that offers one (simulator.transparency).
    transparent: bool = False

    @property
    def tier(self) -> str:
        return catalog.size_tier(self.model, self.size_sent)

    @property
    def prompt(self) -> str:
        return self.triggers.prompt

    @property
    def is_4k(self) -> bool:
        # The -vip 4K compute 500 is a -vip fault.
        size = catalog.VIP_SIZES_BY_VALUE.get(self.size_sent)
        return self.model == catalog.VIP and size is not None and size.tier == catalog.TIER_4K.id

    @property
    def has_oversized_input(self) -> bool:
        # Over the docs' recommended ceiling: the usual cause of "Unknown error".
        return any(len(content) > catalog.INPUT_TARGET_BYTES for content in self.inputs)


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
    # A non-string model (a list, an object) is refused the same way, and must not reach
    # the dict lookup, where an unhashable value would raise.
    if not isinstance(model, str) or model not in catalog.MODELS:
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
    if model not in (catalog.VIP, catalog.ALL):
        return _route_fields(body, model, request_id)
    rejected = VIP_REJECTED if model == catalog.VIP else ALL_REJECTED
    for name in rejected:
        # Presence alone is an error, `null` included: the strict reading of the docs.
        if name in body:
            return responses.invalid_request(
                f"{name} is not supported by {model}; do not pass it", request_id, param=name
            )
    return None


def _route_fields(body: dict[str, Any], model: str, request_id: str) -> Reply | None:
    """The newer routes, field by field as their catalog entry says: an option the route
    does not take, or a value outside its list, is a 400 naming it; `n` within its range."""
    for name in catalog.OPTION_FIELDS:
        if name not in body:
            continue
        allowed = catalog.options(model, name)
        if not allowed:
            return responses.invalid_request(
                f"{name} is not supported by {model}; do not pass it", request_id, param=name
            )
        if body[name] not in allowed:
            return responses.invalid_request(
                f"{name} must be one of {', '.join(allowed)}, not {body[name]!r}",
                request_id,
                param=name,
            )
    if "n" in body:
        low, high = catalog.MODELS[model].n
        n = _int_or_none(body["n"])
        if n is None or not low <= n <= high:
            return responses.invalid_request(
                f"n must be an integer from {low} to {high} for {model}", request_id, param="n"
            )
    return None


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
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
    return _images_request(IMAGES, body, (), request_id)


def _images_request(
    endpoint: str, body: dict[str, Any], inputs: Sequence[bytes], request_id: str
) -> Spec | Reply:
    """The fields /images/generations and /images/edits share, checked the same way."""
    checked = _common(body, body.get("prompt"), request_id)
    if isinstance(checked, Reply):
        return checked
    model, prompt = checked
    if rejected := _rejected_fields(body, model, request_id):
        return rejected
    if not catalog.accepts_endpoint(
        model, catalog.EDITS if endpoint == EDITS else catalog.GENERATIONS
    ):
        return responses.invalid_request(
            f"{model} is not available on this endpoint", request_id, param="model"
        )
    if not catalog.sends_response_format(model):
        # The official route answers raw b64_json and refuses the field outright.
        if "response_format" in body:
            return responses.unknown_parameter("response_format", request_id)
        body = {**body, "response_format": "b64_json"}
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
    elif catalog.MODELS[model].accepts_size:
        size = body.get("size", catalog.default_size(model))
        if not isinstance(size, str) or not catalog.valid_size(model, size):
            return responses.invalid_request(
                f"size {size!r} is not a size {model} accepts", request_id, param="size"
            )
        width, height = catalog.expected_resolution(model, size)
    else:
        size = ""
        width, height = all_resolution(parsed.clean_prompt)
    n = _int_or_none(body.get("n", 1)) or 1
    quality = catalog.quality_sent(model, str(body.get("quality", "")))
    return Spec(
        endpoint,
        model,
        parsed,
        width,
        height,
        size,
        response_format,
        tuple(inputs),
        quality=quality,
        n=n,
    )


# -- input images ---------------------------------------------------------------------------


def is_input_image(content: bytes) -> bool:
    """PNG, JPEG or WebP by content: file names and declared types are not trusted."""
    try:
        # Only the header is read here; the thumbnail decodes the rest while drawing.
        with Image.open(io.BytesIO(content), formats=list(catalog.INPUT_TYPES)) as image:
            return image.format in catalog.INPUT_TYPES and min(image.size) > 0
    except Exception:  # whatever Pillow raises, the file is not an image it can use
        return False


def _inputs_problem(
    inputs: Sequence[bytes], request_id: str, *, param: str = "image"
) -> Reply | None:
    if len(inputs) > GATEWAY_MAX_INPUTS:
        return responses.invalid_request(
            f"at most {GATEWAY_MAX_INPUTS} images per request, got {len(inputs)}",
            request_id,
            param=param,
        )
    for number, content in enumerate(inputs, start=1):
        if len(content) > catalog.INPUT_MAX_BYTES:
            return responses.invalid_request(
                f"image {number} is {len(content) / _MB:.1f} MB; the limit is "
                f"{catalog.INPUT_MAX_BYTES // _MB} MB per image",
                request_id,
                param=param,
            )
        if not is_input_image(content):
            return responses.invalid_image_file(number)
    return None


# -- /images/edits --------------------------------------------------------------------------


def read_form(content_type: str | None, raw: bytes, request_id: str) -> multipart.Form | Reply:
    if not multipart.is_multipart(content_type):
        return responses.invalid_request(
            "/images/edits takes multipart/form-data (model, prompt and files under image), "
            f"not {content_type or 'a body without a Content-Type'}",
            request_id,
        )
    try:
        return multipart.parse(content_type or "", raw)
    except multipart.MultipartError as error:
        return responses.invalid_request(str(error), request_id)


def images_edit(form: multipart.Form, request_id: str) -> Spec | Reply:
    body: dict[str, Any] = form.fields()
    # A form field is a string: "false" must not read as a request to stream.
    if str(body.get("stream", "")).lower() in ("", "false", "0"):
        body.pop("stream", None)
    inputs: list[bytes] = []
    for part in form.parts:
        if part.name in IMAGE_FIELDS:
            inputs.append(part.content)
        elif part.filename is not None and part.name not in IGNORED_FILE_FIELDS:
            # `images`, `image_file`, ...: the gateway reads only `image` (and `image[]`).
            return responses.invalid_request(
                f"unknown file field {part.name!r}: send each file under image "
                "(repeated, in prompt order)",
                request_id,
                param=part.name,
            )
    checked = _images_request(EDITS, body, inputs, request_id)
    if isinstance(checked, Reply):
        return checked
    if not inputs:
        return responses.invalid_request(
            "image is required: at least one file under image", request_id, param="image"
        )
    return _inputs_problem(inputs, request_id) or checked


# -- /chat/completions ----------------------------------------------------------------------


def _last_user_content(messages: Any) -> Any:
    if not isinstance(messages, list):
        return None
    users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
    return users[-1].get("content") if users else None


def _last_user_text(messages: Any) -> str | None:
    content = _last_user_content(messages)
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


def _image_urls(messages: Any) -> list[str]:
    """The image_url parts of the LAST user message: earlier turns are not inputs."""
    content = _last_user_content(messages)
    if not isinstance(content, list):
        return []
    urls: list[str] = []
    for part in content:
        if not isinstance(part, dict) or part.get("type") != "image_url":
            continue
        image_url = part.get("image_url")
        # OpenAI nests {"url": ...}; some clients send the string itself.
        url = image_url.get("url") if isinstance(image_url, dict) else image_url
        urls.append(url if isinstance(url, str) else "")
    return urls


def decode_data_url(url: str) -> bytes:
    """The bytes of a data:...;base64, URL; b"" (not an image) when it does not decode."""
    head, comma, data = url.partition(",")
    if not comma or not head.lower().endswith(";base64"):
        return b""
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return b""


def _chat_inputs(messages: Any, resolve: UrlResolver) -> list[bytes]:
    inputs: list[bytes] = []
    for url in _image_urls(messages):
        if url.lower().startswith("data:"):
            inputs.append(decode_data_url(url))
        elif (content := resolve(url)) is not None:
            inputs.append(content)
    return inputs


def chat_completion(
    body: dict[str, Any], request_id: str, resolve: UrlResolver = lambda url: None
) -> Spec | Reply:
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
    if not catalog.accepts_endpoint(model, catalog.CHAT):
        return responses.invalid_request(
            f"{model} is not available on the chat endpoint: use /v1/images/generations "
            "or /v1/images/edits",
            request_id,
            param="model",
            code="model_not_found",
        )
    # Chat's own response_format is an object ({"type": "text"}); a string asks for the
    # image inline, as on the Images endpoints.
    response_format = body.get("response_format")
    if not isinstance(response_format, str):
        response_format = "url"
    elif response_format not in RESPONSE_FORMATS:
        return responses.invalid_request(
            f"response_format must be url or b64_json, not {response_format!r}",
            request_id,
            param="response_format",
        )
    inputs = _chat_inputs(body.get("messages"), resolve)
    # Chat's images travel inside `messages`: that is the field a 400 names.
    if problem := _inputs_problem(inputs, request_id, param="messages"):
        return problem
    parsed = triggers.parse(prompt)
    if model == catalog.VIP:
        # Chat has no size field: -vip draws its default size.
        size = catalog.DEFAULT_VIP_SIZE
        width, height = vip_resolution(size)
    else:
        size = ""
        width, height = all_resolution(parsed.clean_prompt)
    return Spec(CHAT, model, parsed, width, height, size, response_format, tuple(inputs))


def raw_prompt(endpoint: str, body: dict[str, Any] | multipart.Form) -> str:
    """The prompt before validation, so `[sim:401]` answers before any 400 as auth does."""
    if isinstance(body, multipart.Form):
        body = body.fields()
    prompt = body.get("prompt") if endpoint != CHAT else _last_user_text(body.get("messages"))
    return prompt if isinstance(prompt, str) else ""
