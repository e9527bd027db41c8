"""Masks on /images/edits, as the gateway's mask-taking routes treat them.

The gateway's rule (docs/gateway.md, the official route): a PNG with an alpha channel of
exactly the first image's size; its transparent pixels mark the area to repaint. A route
that repaints nothing locally (-vip regenerates the whole image) reads the field and
ignores it, so only routes whose catalog entry takes a mask are checked here.

The answer keeps the first image outside the masked area and draws the placeholder inside
it, so a test can see that only the masked area changed (and where the mask that arrived
was transparent).
"""

from __future__ import annotations

import dataclasses
import io

from PIL import Image

from imagestudio import catalog
from imagestudio.simulator import multipart, responses
from imagestudio.simulator.responses import Reply
from imagestudio.simulator.validation import Spec

FIELD = "mask"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# A pixel with less alpha than this is in the area to repaint.
TRANSPARENT_BELOW = 128


def check(form: multipart.Form, spec: Spec, request_id: str) -> Spec | Reply:
    """`spec` with the mask it carries, or the gateway's 400 for a mask it refuses."""
    parts = [part for part in form.parts if part.name == FIELD]
    if not parts or not catalog.accepts_mask(spec.model):
        return spec
    if len(parts) > 1:
        return _refuse("send one mask, not several", request_id)
    data = parts[0].content
    problem = _problem(data, spec.inputs[0] if spec.inputs else b"")
    if problem:
        return _refuse(problem, request_id)
    return dataclasses.replace(spec, mask=data)


def _refuse(message: str, request_id: str) -> Reply:
    return responses.invalid_request(f"Invalid mask: {message}", request_id, param=FIELD)


def _problem(data: bytes, first: bytes) -> str:
    if not data.startswith(PNG_MAGIC):
        return "the mask must be a PNG image"
    try:
        with Image.open(io.BytesIO(data)) as mask:
            size, mode, info = mask.size, mask.mode, mask.info
        with Image.open(io.BytesIO(first)) as image:
            wanted = image.size
    except Exception:  # whatever Pillow raises, the file is not a mask it can read
        return "the mask could not be read as a PNG image"
    if size != wanted:
        return (
            f"the mask is {size[0]}x{size[1]} but the image is {wanted[0]}x{wanted[1]}; "
            "they must have the same dimensions"
        )
    if mode not in ("RGBA", "LA", "PA") and "transparency" not in info:
        return "the mask must have an alpha channel (transparent where the image is edited)"
    return ""


def paint(rendered: bytes, first: bytes, mask: bytes) -> bytes:
    """The first image at the answer's size, with the rendered placeholder where the mask
    is transparent."""
    with Image.open(io.BytesIO(rendered)) as opened:
        drawn = opened.convert("RGBA")
    size = drawn.size
    with Image.open(io.BytesIO(first)) as image:
        base = image.convert("RGBA").resize(size, Image.Resampling.BILINEAR)
    with Image.open(io.BytesIO(mask)) as painted:
        alpha = painted.convert("RGBA").getchannel("A").resize(size, Image.Resampling.NEAREST)
    # 255 where the mask is transparent: take the new drawing there.
    where = alpha.point(lambda value: 255 if value < TRANSPARENT_BELOW else 0)
    out = io.BytesIO()
    Image.composite(drawn, base, where).save(out, "PNG")
    return out.getvalue()
