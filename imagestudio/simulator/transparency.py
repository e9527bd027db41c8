"""`background=transparent` on a route that offers it: the answer is a PNG with alpha.

The simulator's placeholder is a full-bleed drawing; asked for a transparent background it
keeps an ellipse in the middle (the "subject") and clears everything around it, so a test
can see the alpha survive storage, thumbnails, downloads and ZIPs: the corners are
transparent (alpha 0) and the centre opaque.
"""

from __future__ import annotations

import io

from PIL import Image, ImageDraw

from imagestudio import catalog

TRANSPARENT = "transparent"


def wanted(model: str, background: object) -> bool:
    """Whether this request asks for, and its route draws, a transparent background."""
    return (
        background == TRANSPARENT
        and model in catalog.MODELS
        and TRANSPARENT in catalog.options(model, "background")
    )


def cut_out(png: bytes) -> bytes:
    """The drawing with everything outside its central ellipse made transparent."""
    with Image.open(io.BytesIO(png)) as opened:
        image = opened.convert("RGBA")
    width, height = image.size
    subject = Image.new("L", image.size, 0)
    ImageDraw.Draw(subject).ellipse(
        (width * 0.2, height * 0.2, width * 0.8, height * 0.8), fill=255
    )
    image.putalpha(subject)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()
