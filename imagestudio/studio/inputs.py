"""Pictures a user uploads to edit: validated by content, then compressed for the gateway.

The gateway takes png / jpg / webp up to 10 MB each, but inputs over ~1.5 MB are the usual
cause of its `shell_api_error` failures (see `docs/gateway.md`), so every input is
re-encoded under `catalog.INPUT_TARGET_BYTES` before it is sent. Re-encoding also strips
every piece of metadata (EXIF with its GPS position, XMP, comments, colour profiles).

No Django here: `prepare()` takes bytes and a file name (used only in messages) and
returns what to send, or raises `InputRejected` with a message for the user.

Memory: a picture is decoded only when its decoded frame is at most DECODE_MAX_PIXELS
(JPEG: after libjpeg's reduced decoding, so a 50-megapixel photo decodes at 1/4 or 1/8),
read from the header before any pixel is decoded; at 4 bytes a pixel and at most one
converted copy alive at a time, one picture holds at most ~2 × 4 × DECODE_MAX_PIXELS
= 128 MiB. Only DECODE_SLOTS pictures are decoded at once per process (`decoding()`, shared
with the gateway results in imaging.py), so a process never holds more than
DECODE_SLOTS × 128 MiB for pictures, however many requests arrive together; after the last
one, freed memory is handed back to the system (malloc_trim) so the process returns to its
baseline.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import io
import math
import os
import re
import threading
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from PIL import (
    Image,
    ImageCms,
    ImageOps,
    JpegImagePlugin,
    PngImagePlugin,
    UnidentifiedImageError,
    WebPImagePlugin,
)

from imagestudio import catalog
from imagestudio.env import env_int
from imagestudio.studio import messages as say
from imagestudio.web import messages as web_say

# Output resolution is governed by the size field, not by input size (docs/gateway.md:
# "the input's size never sets the output's size"), so an input
# needs no more pixels than the model reads for reference; 2048 px on the long edge keeps
# product text and logo edges legible and is the largest edge of the 2K sizes.
LONG_EDGE = 2048
# Cheap integer reductions (libjpeg's scaled decoding, Pillow's box `reduce`) are used when
# they land between this and LONG_EDGE: a 4000×3000 photo is sent at 2000×1500 in a
# fraction of the time an exact LANCZOS resize to 2048 takes.
LONG_EDGE_MIN = 1536
# The usual quality of a photo export, JPEG and WebP alike.
QUALITY = 85
# Below this quality artefacts show in a reference image; the long edge shrinks instead.
QUALITY_FLOOR = 65
# The last resort: at this long edge even pure noise is far under the target (512 × 512 × 4
# bytes raw is 1 MiB; lossy at quality 50 a fraction of that).
LAST_RESORT_EDGES = (512, 384, 256)
LAST_RESORT_QUALITY = 50
# A transparent PNG may be shrunk this far to stay PNG (lossless: a logo's edges stay
# crisp); smaller than that, lossy WebP with alpha at the full long edge keeps more detail.
PNG_MIN_EDGE = LONG_EDGE_MIN
MAX_ATTEMPTS = 6
# The largest frame decoded (see the module doc): 4096 × 4096, a 4K square. PNG and WebP
# decode at full size, so this is their limit; a JPEG's is its reduced decoding's size.
DECODE_MAX_PIXELS = env_int("IMAGESTUDIO_DECODE_MAX_PIXELS", 4096 * 4096, minimum=1_000_000)
# Pictures decoded at once in one process (uploads, kits and the gateway's results alike).
DECODE_SLOTS = env_int("IMAGESTUDIO_DECODE_SLOTS", 2, minimum=1)

_EXTENSIONS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp"}
# Formats Pillow identifies that the gateway refuses, as the user would call them.
_FORMAT_NAMES = {
    "GIF": "a GIF",
    "BMP": "a BMP image",
    "DIB": "a BMP image",
    "TIFF": "a TIFF",
    "ICO": "an ICO icon",
    "ICNS": "an ICNS icon",
    "PSD": "a Photoshop (PSD) file",
    "JPEG2000": "a JPEG 2000 image",
    "AVIF": "an AVIF image",
    "HEIF": "a HEIC photo",
    "EPS": "an EPS file",
    "TGA": "a TGA image",
    "PPM": "a PPM image",
    "DDS": "a DDS texture",
}
_HEIC_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF8")
# What Pillow raises on broken image data, besides its own errors.
_BROKEN = (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError)


class InputRejected(ValueError):
    """An upload the gateway cannot take; str() is a message for the user, naming the file."""


@dataclass(frozen=True)
class PreparedInput:
    data: bytes  # what will be sent
    content_type: str  # image/jpeg | image/png | image/webp
    extension: str  # "jpg" | "png" | "webp"
    width: int  # of what is sent
    height: int
    original_bytes: int
    sent_bytes: int
    original_name: str


# --- memory ----------------------------------------------------------------------------------
_slots = threading.BoundedSemaphore(DECODE_SLOTS)
_busy = 0
_busy_lock = threading.Lock()


def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    if libc is None or not hasattr(libc, "malloc_trim"):
        return None  # not glibc
    # Large buffers (Pillow's 16 MiB image blocks) come from mmap and go straight back
    # to the system when freed; glibc would otherwise raise this threshold after the first
    # free and keep every later picture's memory in its heap for good.
    libc.mallopt(-3, 1024 * 1024)  # M_MMAP_THRESHOLD
    return libc


_LIBC = _libc()


@contextlib.contextmanager
def decoding() -> Iterator[None]:
    """Hold one of the process's DECODE_SLOTS while pixels are decoded and encoded; the
    last one out returns freed memory to the system."""
    global _busy
    with _slots:
        with _busy_lock:
            _busy += 1
        try:
            yield
        finally:
            with _busy_lock:
                _busy -= 1
                idle = _busy == 0
            if idle and _LIBC is not None:
                _LIBC.malloc_trim(0)


def prepare(data: bytes, name: str = "") -> PreparedInput:
    """Validate by content and compress to <= catalog.INPUT_TARGET_BYTES.

    Raises InputRejected for anything the gateway would refuse or that is not an image.
    `name` is only used in messages; the content decides everything."""
    label = _label(name)
    _check_bytes(data, label)
    with decoding():
        return _prepare(data, name, label)


def _prepare(data: bytes, name: str, label: str) -> PreparedInput:
    image = _open(data, label)
    image = _normalise(image)
    alpha_low = image.getchannel("A").getextrema()[0] if image.mode == "RGBA" else 255
    transparent = isinstance(alpha_low, int) and alpha_low < 255
    if image.mode == "RGBA" and not transparent:
        image = image.convert("RGB")
    image = _downscale(image)
    image = _to_srgb(image)
    ImageOps.exif_transpose(image, in_place=True)
    # Nothing of the original's metadata goes out: the encoders would otherwise carry over
    # some of it from .info (PNG: the ICC profile and tRNS; JPEG: the comment).
    image.info = {}
    if transparent:
        sent, out, fmt = _fit_transparent(image)
    else:
        sent, out = _fit(image, _jpeg)
        fmt = "JPEG"
    return PreparedInput(
        data=out,
        content_type=catalog.INPUT_TYPES[fmt],
        extension=_EXTENSIONS[fmt],
        width=sent.width,
        height=sent.height,
        original_bytes=len(data),
        sent_bytes=len(out),
        original_name=name,
    )


# --- validation ------------------------------------------------------------------------------
def _label(name: str) -> str:
    base = os.path.basename(name.replace("\\", "/")).strip()
    base = re.sub(r"[\x00-\x1f\x7f]", "", base)
    if len(base) > 80:
        base = base[:77] + "…"
    return base or say.this_file()


def _mb(size: int) -> str:
    # Rounded up, so a file just over the limit never reads as exactly the limit.
    return f"{math.ceil(size / (1024 * 1024) * 10) / 10:.1f} MB"


def _check_bytes(data: bytes, label: str) -> None:
    if not data:
        raise InputRejected(say.picture_empty(label))
    if len(data) > catalog.INPUT_MAX_BYTES:
        limit = catalog.INPUT_MAX_BYTES // (1024 * 1024)
        raise InputRejected(say.picture_too_big(label, _mb(len(data)), limit))
    head = data[:4096]
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"<"):
        if b"<svg" in head.lower():
            raise InputRejected(say.picture_is_svg(label))
        raise InputRejected(say.picture_is_markup(label))
    if b"%PDF-" in data[:1024] and not data.startswith(_IMAGE_MAGIC):
        raise InputRejected(say.picture_is_pdf(label))


def _open(data: bytes, label: str) -> Image.Image:
    """Identify, check format and pixel count from the header, verify, then decode (for
    JPEG at a reduced scale when it is far larger than what is sent)."""
    try:
        with warnings.catch_warnings():
            # Pillow warns (and over twice its limit refuses) in open(), from the header.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise InputRejected(_unidentified(data, label)) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InputRejected(_too_many_pixels(label, _header_size(data, exc))) from None
    except _BROKEN:
        raise InputRejected(_damaged(label)) from None
    fmt = "JPEG" if probe.format == "MPO" else probe.format  # MPO: a camera's multi-JPEG
    if fmt not in catalog.INPUT_TYPES:
        kind = _FORMAT_NAMES.get(probe.format or "") or say.a_format_file(str(probe.format))
        raise InputRejected(say.picture_wrong_format(label, kind))
    width, height = probe.size
    if width * height > catalog.INPUT_MAX_PIXELS:
        raise InputRejected(_too_many_pixels(label, (width, height)))
    decoded = _decoded_size(fmt, (width, height))
    if decoded[0] * decoded[1] > DECODE_MAX_PIXELS:
        raise InputRejected(
            web_say.picture_too_large_to_decode(
                label,
                f"{width:,}",
                f"{height:,}",
                f"{DECODE_MAX_PIXELS / 1e6:,.0f}",
            )
        )
    try:
        probe.verify()
        # verify() leaves the image unusable; open again to decode, which also catches the
        # truncated data verify() lets through.
        image = Image.open(io.BytesIO(data))
        if fmt == "JPEG":
            # libjpeg decodes at 1/2, 1/4 or 1/8 scale for almost nothing, as long as the
            # result is still at least the size sent.
            image.draft("RGB", _fitted(image.size, LONG_EDGE_MIN))
        if image.size[0] * image.size[1] > DECODE_MAX_PIXELS:
            raise InputRejected(_damaged(label))  # the header lied between two reads
        image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InputRejected(_too_many_pixels(label, (width, height))) from None
    except _BROKEN:
        raise InputRejected(_damaged(label)) from None
    return image


def _decoded_size(fmt: str, size: tuple[int, int]) -> tuple[int, int]:
    """The frame decoding will allocate: a JPEG's after draft() (1/2, 1/4 or 1/8, keeping
    at least LONG_EDGE_MIN), any other format's in full."""
    width, height = size
    if fmt != "JPEG":
        return size
    scale = 1
    while scale < 8 and max(width, height) / (scale * 2) >= LONG_EDGE_MIN:
        scale *= 2
    return math.ceil(width / scale), math.ceil(height / scale)


def _unidentified(data: bytes, label: str) -> str:
    if data[4:8] == b"ftyp" and data[8:12] in _HEIC_BRANDS:
        return say.picture_is_heic(label)
    if data.startswith((*_IMAGE_MAGIC, b"RIFF")):
        return _damaged(label)
    try:
        data[:4096].decode("utf-8")
    except UnicodeDecodeError:
        return say.picture_not_an_image(label)
    return say.picture_is_text(label)


def _damaged(label: str) -> str:
    return say.picture_damaged(label)


def _too_many_pixels(label: str, size: tuple[int, int] | int) -> str:
    limit = f"{catalog.INPUT_MAX_PIXELS / 1e6:,.0f}"
    if isinstance(size, tuple):
        w, h = size
        what = say.pixels_and_megapixels(f"{w:,}", f"{h:,}", f"{w * h / 1e6:,.0f}")
    else:
        what = say.megapixels(f"{size / 1e6:,.0f}")
    return say.picture_too_many_pixels(label, what, limit)


def _header_size(data: bytes, exc: Exception) -> tuple[int, int] | int:
    """The size Pillow's bomb check refused, read from the header only. The plugins' own
    classes parse the header without that (process-wide) check, which is left alone."""
    for plugin in (
        PngImagePlugin.PngImageFile,
        JpegImagePlugin.JpegImageFile,
        WebPImagePlugin.WebPImageFile,
    ):
        try:
            return plugin(io.BytesIO(data)).size
        except Exception:  # noqa: S112 - not this format: try the next
            continue
    match = re.search(r"\((\d+) pixels\)", str(exc))
    return int(match.group(1)) if match else catalog.INPUT_MAX_PIXELS + 1


# --- pixels ----------------------------------------------------------------------------------
def _normalise(image: Image.Image) -> Image.Image:
    """To RGB or RGBA, 8 bits per channel; CMYK stays for its profile (see _to_srgb)."""
    mode = image.mode
    if "transparency" in image.info and mode in ("P", "L", "RGB", "1"):
        return image.convert("RGBA")  # tRNS: a palette index or colour key is transparent
    if mode == "P":
        return image.convert("RGBA" if image.palette and image.palette.mode == "RGBA" else "RGB")
    if mode in ("RGB", "RGBA", "CMYK"):
        return image
    if mode in ("LA", "La", "PA", "RGBa"):
        return image.convert("RGBA")
    if mode.startswith("I"):
        # 16-bit grey PNG: scale to 8 bits (a plain convert would clip everything over 255).
        return image.convert("I").point(lambda v: v * (1 / 257)).convert("L").convert("RGB")
    return image.convert("RGB")  # L, 1, YCbCr, LAB…


def _fitted(size: tuple[int, int], edge: int) -> tuple[int, int]:
    width, height = size
    scale = min(1.0, edge / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _downscale(image: Image.Image) -> Image.Image:
    """The first, large reduction to at most LONG_EDGE: by an integer factor (box filter,
    fast) when that keeps at least LONG_EDGE_MIN, else an exact resize."""
    long_edge = max(image.size)
    if long_edge <= LONG_EDGE:
        return image
    factor = math.ceil(long_edge / LONG_EDGE)
    if long_edge / factor >= LONG_EDGE_MIN:
        return image.reduce(factor)
    return _shrink(image, LONG_EDGE)


def _shrink(image: Image.Image, edge: int) -> Image.Image:
    target = _fitted(image.size, edge)
    if target == image.size:
        return image
    # reducing_gap: an integer-factor box reduction first, then LANCZOS over what is left.
    return image.resize(target, Image.Resampling.LANCZOS, reducing_gap=2.0)


_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def _to_srgb(image: Image.Image) -> Image.Image:
    """Convert through an embedded colour profile (a phone's Display P3, a print CMYK) to
    sRGB, which the gateway assumes; without one, or when it cannot be read, a plain
    conversion. Done after shrinking: far fewer pixels."""
    icc = image.info.get("icc_profile")
    out_mode = "RGBA" if image.mode == "RGBA" else "RGB"
    if icc:
        try:
            profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            if image.mode == "CMYK" or "sRGB" not in ImageCms.getProfileDescription(profile):
                converted = ImageCms.profileToProfile(image, profile, _SRGB, outputMode=out_mode)
                if converted is not None:
                    converted.info = image.info
                    return converted
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            pass
    return image if image.mode == out_mode else image.convert(out_mode)


# --- encoding --------------------------------------------------------------------------------
def _jpeg(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, optimize=True)
    return out.getvalue()


def _webp(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    # method 2 of 6: a 2048-pixel image encodes in ~2/3 of the default's (4) time and
    # comes out within 2 % of its size. The alpha channel stays lossless (alpha_quality 100).
    image.save(out, "WEBP", quality=quality, method=2)
    return out.getvalue()


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _fit(
    image: Image.Image, encode: Callable[[Image.Image, int], bytes]
) -> tuple[Image.Image, bytes]:
    """Encode at the usual quality; over the target, lower the quality while that can be
    enough, else shrink the long edge by what the size says it takes. A few attempts at
    most, then a last resort that always fits."""
    target = catalog.INPUT_TARGET_BYTES
    candidate, quality = image, QUALITY
    for _ in range(MAX_ATTEMPTS):
        out = encode(candidate, quality)
        if len(out) <= target:
            return candidate, out
        ratio = target / len(out)
        # From 85, lossy sizes fall by roughly a quarter at 75 and 40 % at 65.
        if quality > 75 and ratio >= 0.72:
            quality = 75
        elif quality > QUALITY_FLOOR and ratio >= 0.55:
            quality = QUALITY_FLOOR
        else:
            edge = int(max(candidate.size) * math.sqrt(ratio) * 0.92)
            if edge < LAST_RESORT_EDGES[0]:
                break
            candidate = _shrink(image, edge)
    for edge in LAST_RESORT_EDGES:
        candidate = _shrink(image, edge)
        out = encode(candidate, LAST_RESORT_QUALITY)
        if len(out) <= target:
            return candidate, out
    # 256 px at quality 50 is a few tens of KB whatever the pixels; never reached.
    raise AssertionError("could not compress an image under the target")


def _fit_transparent(image: Image.Image) -> tuple[Image.Image, bytes, str]:
    """PNG when it fits (shrunk a little if needed); else WebP, which keeps the alpha."""
    target = catalog.INPUT_TARGET_BYTES
    candidate = image
    for _ in range(3):
        out = _png(candidate)
        if len(out) <= target:
            return candidate, out, "PNG"
        # PNG size follows the pixel count about linearly; shrink only as far as needed,
        # and give up on PNG rather than shrink a logo far below what WebP would keep.
        edge = int(max(candidate.size) * math.sqrt(target / len(out)) * 0.92)
        if edge < PNG_MIN_EDGE:
            break
        candidate = _shrink(image, edge)
    candidate, out = _fit(image, _webp)
    return candidate, out, "WEBP"
