"""Turning the gateway's bytes into stored files: validate, keep the original, thumbnail."""

from __future__ import annotations

import hashlib
import io
import uuid
import warnings
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from PIL import Image, UnidentifiedImageError

from imagestudio.studio.inputs import decoding

THUMBNAIL_LONG_EDGE = 512
_EXTENSIONS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp", "GIF": "gif"}


class NotAnImage(ValueError):
    pass


def inspect(data: bytes) -> Image.Image:
    """Open bytes as an image or raise NotAnImage; decompression bombs count as not images."""
    if not data:
        raise NotAnImage("the gateway sent no bytes")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(data))
            # Checked from the header, before any pixel is decoded; Pillow's own global
            # limit is left alone (it is process-wide, and other code opens images too).
            if probe.width * probe.height > settings.MAX_IMAGE_PIXELS:
                raise NotAnImage(
                    f"image too large: {probe.width}×{probe.height} is over "
                    f"{settings.MAX_IMAGE_PIXELS:,} pixels"
                )
            probe.verify()
            # verify() leaves the image unusable; open again to decode the pixels, which
            # also catches truncated data that verify() lets through.
            image = Image.open(io.BytesIO(data))
            image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise NotAnImage(str(exc) or exc.__class__.__name__) from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise NotAnImage(f"image too large: {exc}") from exc
    return image


def thumbnail_bytes(image: Image.Image) -> bytes:
    """The WebP thumbnail. Shrinks `image` in place: copying a 4K frame first costs more
    than the rest of the thumbnail."""
    if image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA")
    # reducing_gap lets Pillow shrink by an integer factor first: a 4K PNG thumbnails in a
    # fraction of the time a plain pass over all its pixels would take. At 1.25 a 1K image
    # is halved first too (1280 → 640 → 512) and a 4K poster works on a 640-wide frame
    # (bench k). What is left is a step of at most 1.25×, where HAMMING's short filter
    # costs half of LANCZOS's (3 ms instead of 6 at 1K, 200 of them finishing within a
    # second in bench i) and differs from a full LANCZOS pass by 1–2 levels of 255 on
    # average, less than the WebP encoding below changes.
    image.thumbnail((THUMBNAIL_LONG_EDGE, THUMBNAIL_LONG_EDGE), Image.Resampling.HAMMING, 1.25)
    out = io.BytesIO()
    # method 2 of 6: a 512-pixel thumbnail barely gains from the slower, smaller encodings.
    image.save(out, "WEBP", quality=80, method=2)
    return out.getvalue()


def store(data: bytes) -> dict:
    """Validate and write the original and its WebP thumbnail; return the model fields.

    Slow I/O: call outside any transaction. The decode and the thumbnail hold one of the
    process's decoding slots (inputs.decoding): dozens of worker threads finishing at once
    must not each hold a decoded 4K frame."""
    with decoding():
        image = inspect(data)
        width, height = image.size
        ext = _EXTENSIONS.get(image.format or "", "png")
        thumb = thumbnail_bytes(image)
        del image
    stem = f"{timezone.now():%Y/%m}/{uuid.uuid4().hex}"
    image_name = default_storage.save(f"images/{stem}.{ext}", ContentFile(data))
    try:
        thumb_name = default_storage.save(f"thumbs/{stem}.webp", ContentFile(thumb))
    except Exception:
        default_storage.delete(image_name)
        raise
    return {
        "image": image_name,
        "thumbnail": thumb_name,
        "width": width,
        "height": height,
        "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }


def rescue(generation_id: int, data: bytes) -> Path:
    """Storage failed: keep the paid-for bytes on local disk so an admin can recover them."""
    folder = Path(settings.DATA_DIR) / "rescued"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"generation-{generation_id}-{uuid.uuid4().hex[:8]}.bin"
    path.write_bytes(data)
    return path
