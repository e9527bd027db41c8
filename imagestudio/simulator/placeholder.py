"""The simulated image: a PNG at the exact size, labelled so nobody mistakes it for art."""

from __future__ import annotations

import hashlib
import io
import math
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, ImageOps

LABEL = "SIMULATED — placeholder, nothing billed"
# Pillow's built-in font has no em dash.
LABEL_ASCII = "SIMULATED - placeholder, nothing billed"
# Drawn text is capped: the prompt may be 32 000 characters, the picture has no room.
MAX_PROMPT_CHARS = 600
# Fonts tried in order (CJK first); Pillow's own font draws CJK as boxes.
_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    # No CJK, but the em dash and Latin accents.
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
)

type Font = ImageFont.FreeTypeFont | ImageFont.ImageFont

# Inputs are drawn as a strip of numbered thumbnails at the bottom, so an edit is visibly
# an edit. The strip never takes more than this share of the height.
STRIP_MAX_SHARE = 0.5
THUMB_MIN_EDGE = 32
# Behind transparent inputs, and in place of an input that will not decode.
THUMB_BACKDROP = (128, 128, 128)


@lru_cache(maxsize=1)
def _font_path() -> str | None:
    return next((p for p in _FONTS if Path(p).is_file()), None)


@lru_cache(maxsize=64)
def _font(size: int) -> Font:
    path = _font_path()
    if path is not None:
        return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)


def _background(width: int, height: int, seed: str) -> Image.Image:
    # A vertical gradient scaled with NEAREST: every row is one colour, so both the resize
    # and the PNG encoder are fast even at 3840x2160 (many requests render at once).
    digest = hashlib.sha256(seed.encode()).digest()
    dark = (digest[0] // 4, digest[1] // 4, digest[2] // 4 + 30)
    light = (96 + digest[3] // 3, 96 + digest[4] // 3, 96 + digest[5] // 3)
    tile = ImageOps.colorize(Image.linear_gradient("L"), dark, light)
    return tile.resize((width, height), Image.Resampling.NEAREST)


@lru_cache(maxsize=4096)
def _char_width(font: Font, char: str) -> float:
    # Fonts come from _font's cache, so they are the same objects from one call to the next.
    return float(font.getlength(char))


def _wrap(text: str, font: Font, max_width: float) -> list[str]:
    """Greedy wrap by width; breaks at a space when it can, anywhere for CJK.

    A line's width is the sum of its characters' (kerning ignored): measuring every
    candidate line again was half of drawing a placeholder, and the simulator draws
    hundreds at once in the benchmarks."""

    def width(chars: str) -> float:
        return sum(_char_width(font, char) for char in chars)

    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line, line_width = "", 0.0
        for char in paragraph:
            char_width = width(char)
            if line_width + char_width <= max_width or not line:
                line, line_width = line + char, line_width + char_width
                continue
            cut = line.rfind(" ")
            if cut > 0 and char != " ":
                lines.append(line[:cut])
                line = line[cut + 1 :] + char
            else:
                lines.append(line)
                line = char.lstrip()
            line_width = width(line)
        lines.append(line)
    return lines


def _thumbnail(content: bytes, edge: int) -> Image.Image:
    """An input fitted to edge x edge, flattened to RGB over a grey backdrop."""
    try:
        with Image.open(io.BytesIO(content)) as source:
            # JPEGs decode straight at a reduced scale: a 10 MB photo costs milliseconds.
            source.draft("RGB", (edge, edge))
            source.thumbnail((edge, edge), Image.Resampling.BILINEAR, reducing_gap=2.0)
            rgba = source.convert("RGBA")
        # A small input (an icon, a logo) is blown up to the cell so it can be seen.
        scale = edge / max(rgba.size)
        if scale > 1:
            size = (max(1, round(rgba.width * scale)), max(1, round(rgba.height * scale)))
            rgba = rgba.resize(size, Image.Resampling.NEAREST)
    except Exception:  # whatever Pillow raises, the tile just says "unreadable"
        return Image.new("RGB", (edge, edge), THUMB_BACKDROP)
    flat = Image.new("RGBA", rgba.size, (*THUMB_BACKDROP, 255))
    flat.alpha_composite(rgba)
    return flat.convert("RGB")


def _strip_layout(width: int, height: int, count: int, margin: int) -> tuple[int, int, int]:
    """(edge, gap, columns) of a thumbnail grid that fits the width and the lower half."""
    short = min(width, height)
    gap = max(6, short // 80)
    edge = max(THUMB_MIN_EDGE, short // 6)
    while True:
        columns = max(1, (width - 2 * margin + gap) // (edge + gap))
        rows = math.ceil(count / columns)
        if rows * (edge + gap) <= height * STRIP_MAX_SHARE or edge <= THUMB_MIN_EDGE:
            return edge, gap, columns
        edge = max(THUMB_MIN_EDGE, int(edge * 0.8))


def _draw_inputs(image: Image.Image, inputs: Sequence[bytes], margin: int) -> int:
    """Paste the numbered thumbnails along the bottom; return the strip's top edge."""
    width, height = image.size
    edge, gap, columns = _strip_layout(width, height, len(inputs), margin)
    rows = math.ceil(len(inputs) / columns)
    top = height - margin - rows * edge - (rows - 1) * gap
    draw = ImageDraw.Draw(image)
    font = _font(max(10, edge // 7))
    for index, content in enumerate(inputs):
        row, column = divmod(index, columns)
        x, y = margin + column * (edge + gap), top + row * (edge + gap)
        thumb = _thumbnail(content, edge)
        # Centre the thumbnail in its cell, framed so it stands out of the gradient.
        tx, ty = x + (edge - thumb.width) // 2, y + (edge - thumb.height) // 2
        draw.rectangle((tx - 2, ty - 2, tx + thumb.width + 1, ty + thumb.height + 1), "white")
        image.paste(thumb, (tx, ty))
        # The number the prompt uses for this input ("image1", "image2", ...).
        label = f"image{index + 1}"
        left, label_top, right, bottom = draw.textbbox((tx + 3, ty + 3), label, font=font)
        draw.rectangle((left - 3, label_top - 2, right + 3, bottom + 2), (0, 0, 0))
        draw.text((tx + 3, ty + 3), label, font=font, fill="white")
    return top - gap


def render_png(
    width: int,
    height: int,
    *,
    prompt: str,
    model: str,
    request_id: str,
    inputs: Sequence[bytes] = (),
) -> bytes:
    image = _background(width, height, f"{model}|{prompt}")
    draw = ImageDraw.Draw(image)
    short = min(width, height)
    margin = max(16, short // 20)
    text_bottom = _draw_inputs(image, inputs, margin) if inputs else height - margin
    kind = f" · edit of {len(inputs)} input{'s' if len(inputs) > 1 else ''}" if inputs else ""
    big, small = _font(max(14, short // 22)), _font(max(12, short // 36))
    # The prompt is what a designer looks for on a thumbnail: draw it large.
    body = _font(max(14, short // 16))
    y = float(margin)
    for text, font in (
        (LABEL if _font_path() else LABEL_ASCII, big),
        (f"{model} · {width}x{height}{kind}", small),
        (f"request id {request_id}", small),
    ):
        for line in _wrap(text, font, width - 2 * margin):
            draw.text((margin, y), line, font=font, fill="white")
            y += font.size * 1.3 if isinstance(font, ImageFont.FreeTypeFont) else 14
    y += margin / 2
    shown = prompt if len(prompt) <= MAX_PROMPT_CHARS else prompt[:MAX_PROMPT_CHARS] + "…"
    step = body.size * 1.3 if isinstance(body, ImageFont.FreeTypeFont) else 14
    for line in _wrap(shown, body, width - 2 * margin):
        if y + step > text_bottom:
            draw.text((margin, y), "…", font=body, fill="white")
            break
        draw.text((margin, y), line, font=body, fill=(235, 235, 235))
        y += step
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def corrupt_bytes(request_id: str) -> bytes:
    """Bytes that look like a download but are no image (the gateway still bills them)."""
    return f"<html><body>upstream error {request_id}</body></html>\n".encode() * 4
