"""A mask for an edit: the area of the first picture the model may change.

The gateway takes it as the official Images API does (docs/gateway.md): a PNG of exactly the
first picture's pixel size with an alpha channel, whose transparent pixels mark the area to
change. The studio checks that here, before anything is spent, and sends a clean copy: the
painted area alpha 0, every other pixel opaque, at the size of the first picture as sent
(pictures are compressed, and may be shrunk, before they go).

A mask may be painted at the first picture's size as the caller has it (an upload, a
gallery image) or as it is sent (a picture staged in the form); either is scaled to what is
sent. Which routes take a mask is the catalog's (`mask` in catalog/routes.json).

No Django models here: bytes in, a PreparedInput out, or MaskRejected with the words.
"""

from __future__ import annotations

import io
import warnings

from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from imagestudio import catalog
from imagestudio.studio.inputs import PreparedInput, decoding

# The field's name in the form, the API and the gateway's request.
FIELD = "mask"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# Alpha under this counts as painted: a brush's soft edge is painted from half cover on.
PAINTED_BELOW = 128
_BROKEN = (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError)


class MaskRejected(ValueError):
    """A mask the gateway would refuse; str() says why, for the user."""


# --- what a route takes ----------------------------------------------------------------------
def takes_mask(model: str) -> bool:
    """Whether `model`'s route repaints a masked area (the catalog's `mask`)."""
    return model in catalog.MODELS and catalog.accepts_mask(model)


def mask_models() -> list[str]:
    return [model for model in catalog.MODELS if takes_mask(model)]


# --- checks ----------------------------------------------------------------------------------
def not_taken(model: str) -> str:
    return _(
        "%(model)s does not take a mask: it redraws the whole picture. Choose a model that "
        "takes one, or send the edit without a mask."
    ) % {"model": model}


def only_with_pictures() -> str:
    return _("A mask goes with a picture to edit: add the picture it was painted on as image1.")


def _empty() -> str:
    return _("Nothing is painted on the mask: paint the area the edit may change.")


def _not_png() -> str:
    return _("The mask must be a PNG file with transparency (an alpha channel).")


def _no_alpha() -> str:
    return _(
        "The mask has no transparency (alpha channel): the area to change must be "
        "transparent and the rest opaque."
    )


def _too_big() -> str:
    limit = catalog.INPUT_MAX_BYTES // (1024 * 1024)
    return _("The mask is over %(limit)s MB.") % {"limit": limit}


def _wrong_size(size: tuple[int, int], wanted: tuple[int, int]) -> str:
    return _(
        "The mask is %(width)s×%(height)s pixels; it must be the first picture's size, "
        "%(wanted_width)s×%(wanted_height)s."
    ) % {
        "width": size[0],
        "height": size[1],
        "wanted_width": wanted[0],
        "wanted_height": wanted[1],
    }


def picture_size(data: bytes) -> tuple[int, int] | None:
    """A picture's size as it is seen (EXIF rotation applied), from its header only."""
    try:
        with Image.open(io.BytesIO(data)) as probe:
            width, height = probe.size
            orientation = probe.getexif().get(0x0112, 1)
    except (UnidentifiedImageError, Image.DecompressionBombError, *_BROKEN):
        return None
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def prepare(
    data: bytes, *, sent: tuple[int, int], original: tuple[int, int] | None
) -> PreparedInput:
    """Check a mask against the first picture and make the copy that is sent.

    `sent` is the first picture's size as it goes to the gateway, `original` as the caller
    had it (None when that is the same). Raises MaskRejected."""
    if not data:
        raise MaskRejected(_empty())
    if len(data) > catalog.INPUT_MAX_BYTES:
        raise MaskRejected(_too_big())
    if not data.startswith(PNG_MAGIC):
        raise MaskRejected(_not_png())
    with decoding():
        alpha = _alpha(data, sent, original or sent)
        painted = alpha.point(lambda value: 0 if value < PAINTED_BELOW else 255)
        if painted.getextrema()[0] != 0:
            raise MaskRejected(_empty())
        if painted.size != sent:
            # Nearest: the scaled mask keeps only the two alpha values.
            painted = painted.resize(sent, Image.Resampling.NEAREST)
        clean = Image.new("RGBA", sent, (0, 0, 0, 255))
        clean.putalpha(painted)
        out = io.BytesIO()
        clean.save(out, "PNG", optimize=True)
    encoded = out.getvalue()
    return PreparedInput(
        data=encoded,
        content_type="image/png",
        extension="png",
        width=sent[0],
        height=sent[1],
        original_bytes=len(data),
        sent_bytes=len(encoded),
        original_name="mask.png",
    )


def _alpha(data: bytes, sent: tuple[int, int], original: tuple[int, int]) -> Image.Image:
    """The mask's alpha channel, once its size and its transparency are known to be right."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise MaskRejected(_not_png()) from None
    except _BROKEN:
        raise MaskRejected(_not_png()) from None
    if image.format != "PNG":
        raise MaskRejected(_not_png())
    if image.size not in (sent, original):
        raise MaskRejected(_wrong_size(image.size, original))
    has_alpha = image.mode in ("RGBA", "LA", "La", "RGBa", "PA") or "transparency" in image.info
    if not has_alpha:
        raise MaskRejected(_no_alpha())
    try:
        image.load()
        rgba = image.convert("RGBA")
    except _BROKEN:
        raise MaskRejected(_not_png()) from None
    return rgba.getchannel("A")
