"""The simulated image: a PNG at the exact size, labelled so nobody mistakes it for art."""

from __future__ import annotations

import hashlib
import io
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


def _wrap(text: str, font: Font, max_width: float) -> list[str]:
    """Greedy wrap by measured width; breaks at a space when it can, anywhere for CJK."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for char in paragraph:
            candidate = line + char
            if font.getlength(candidate) <= max_width or not line:
                line = candidate
                continue
            cut = line.rfind(" ")
            if cut > 0 and char != " ":
                lines.append(line[:cut])
                line = line[cut + 1 :] + char
            else:
                lines.append(line)
                line = char.lstrip()
        lines.append(line)
    return lines


def render_png(width: int, height: int, *, prompt: str, model: str, request_id: str) -> bytes:
    image = _background(width, height, f"{model}|{prompt}")
    draw = ImageDraw.Draw(image)
    short = min(width, height)
    margin = max(16, short // 20)
    big, small = _font(max(14, short // 22)), _font(max(12, short // 36))
    # The prompt is what a designer looks for on a thumbnail: draw it large.
    body = _font(max(14, short // 16))
    y = float(margin)
    for text, font in (
        (LABEL if _font_path() else LABEL_ASCII, big),
        (f"{model} · {width}x{height}", small),
        (f"request id {request_id}", small),
    ):
        for line in _wrap(text, font, width - 2 * margin):
            draw.text((margin, y), line, font=font, fill="white")
            y += font.size * 1.3 if isinstance(font, ImageFont.FreeTypeFont) else 14
    y += margin / 2
    shown = prompt if len(prompt) <= MAX_PROMPT_CHARS else prompt[:MAX_PROMPT_CHARS] + "…"
    step = body.size * 1.3 if isinstance(body, ImageFont.FreeTypeFont) else 14
    for line in _wrap(shown, body, width - 2 * margin):
        if y + step > height - margin:
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
