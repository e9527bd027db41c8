"""Edit inputs: refused by content with a message naming the file, else compressed under
the gateway's recommended size with every piece of metadata stripped."""

import io
import random
import struct
import zlib

import pytest
from PIL import Image, ImageCms, ImageDraw

from imagestudio import catalog
from imagestudio.studio import inputs
from imagestudio.studio.inputs import InputRejected, prepare


def encode(image: Image.Image, fmt: str, **params) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def noise(size: tuple[int, int], mode: str = "RGB", seed: int = 1) -> Image.Image:
    width, height = size
    bands = len(mode)
    return Image.frombytes(mode, size, random.Random(seed).randbytes(width * height * bands))


def photo_like(size: tuple[int, int], seed: int = 1) -> Image.Image:
    """Gradients under strong noise: compresses about as badly as a sharp, grainy photo."""
    gradient = Image.linear_gradient("L").resize(size)
    radial = Image.radial_gradient("L").resize(size)
    base = Image.merge("RGB", (gradient, radial, gradient.rotate(180)))
    return Image.blend(base, noise(size, seed=seed), 0.35)


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_claiming(width: int, height: int) -> bytes:
    """A few hundred bytes whose header says width × height: a decompression bomb's shape."""
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + png_chunk(b"IEND", b"")
    )


def decoded(prepared: inputs.PreparedInput) -> Image.Image:
    image = Image.open(io.BytesIO(prepared.data))
    image.load()
    return image


def assert_consistent(prepared: inputs.PreparedInput, original: bytes) -> Image.Image:
    image = decoded(prepared)
    expected = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png")}
    expected["WEBP"] = ("image/webp", "webp")
    assert (prepared.content_type, prepared.extension) == expected[image.format]
    assert (prepared.width, prepared.height) == image.size
    assert prepared.sent_bytes == len(prepared.data) <= catalog.INPUT_TARGET_BYTES
    assert prepared.original_bytes == len(original)
    assert image.mode in ("RGB", "RGBA")
    return image


# --- refused ---------------------------------------------------------------------------------
def rejection(data: bytes, name: str) -> str:
    with pytest.raises(InputRejected) as info:
        prepare(data, name)
    return str(info.value)


def test_empty_file_is_refused():
    assert rejection(b"", "product.png") == "product.png is empty (0 bytes)."


def test_file_over_the_hard_limit_is_refused_before_anything_is_decoded():
    data = b"\xff\xd8\xff" + b"\0" * (catalog.INPUT_MAX_BYTES - 2)
    assert len(data) == catalog.INPUT_MAX_BYTES + 1
    message = rejection(data, "C:\\Users\\ana\\photo.jpg")
    # Rounded up: a file just over the limit never reads as "10.0 MB".
    assert message == (
        "photo.jpg is 10.1 MB; the gateway accepts at most 10 MB per image. Export it smaller."
    )


def test_file_at_the_hard_limit_passes_the_size_check():
    data = b"\x89PNG\r\n\x1a\n" + b"\0" * (catalog.INPUT_MAX_BYTES - 8)
    assert "damaged" in rejection(data, "photo.png")


@pytest.mark.parametrize(
    "data",
    [
        b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10"/>',
        b"\xef\xbb\xbf  <svg xmlns='http://www.w3.org/2000/svg'></svg>",
        b"<!DOCTYPE svg PUBLIC '-//W3C//DTD SVG 1.1//EN'><SVG></SVG>",
    ],
)
def test_svg_is_refused_by_content(data):
    assert rejection(data, "logo.png") == (
        "logo.png is an SVG drawing; export it as PNG or JPEG first."
    )


def test_pdf_is_refused():
    message = rejection(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "brief.jpg")
    assert message.startswith("brief.jpg is a PDF document, not an image")


def test_text_renamed_png_is_not_an_image():
    message = rejection(b"Meeting notes\nbring the product shots\n" * 20, "notes.png")
    assert message == "notes.png is not an image (it is text)."


def test_unknown_binary_is_not_an_image():
    assert rejection(bytes(range(256)) * 40, "blob.webp") == "blob.webp is not an image."


def test_html_is_not_an_image():
    message = rejection(b"<!doctype html><html><body>404</body></html>", "image.jpg")
    assert message.startswith("image.jpg is not an image")


@pytest.mark.parametrize(
    ("fmt", "kind"),
    [("GIF", "a GIF"), ("BMP", "a BMP image"), ("TIFF", "a TIFF")],
)
def test_other_image_formats_are_named_and_refused(fmt, kind):
    data = encode(Image.new("RGB", (40, 30), "orange"), fmt)
    assert rejection(data, "art.png") == (
        f"art.png is {kind}; the gateway accepts PNG, JPEG or WebP."
    )


def test_heic_is_named_and_refused():
    data = struct.pack(">I", 24) + b"ftypheic" + b"\0\0\0\0mif1heic" + b"\0" * 200
    message = rejection(data, "IMG_0042.HEIC")
    assert message.startswith("IMG_0042.HEIC is a HEIC photo; the gateway accepts PNG, JPEG")


@pytest.mark.parametrize(
    ("width", "height"),
    [
        (20000, 20000),  # over twice Pillow's limit: Pillow refuses it in open()
        (10000, 10000),  # over Pillow's limit: Pillow warns in open()
        (8000, 6500),  # under Pillow's limit, over ours
    ],
)
def test_too_many_pixels_is_refused_from_the_header(width, height):
    data = png_claiming(width, height)
    assert len(data) < 500
    message = rejection(data, "huge.png")
    megapixels = round(width * height / 1e6)
    assert message == (
        f"huge.png is {width:,}×{height:,} pixels ({megapixels:,} megapixels); the gateway's "
        f"inputs are limited to {catalog.INPUT_MAX_PIXELS / 1e6:.0f} megapixels. "
        "Export it smaller."
    )


def test_truncated_jpeg_is_damaged():
    data = encode(photo_like((800, 600)), "JPEG", quality=90)
    message = rejection(data[: len(data) // 2], "shot.jpg")
    assert message == "shot.jpg is damaged or incomplete; open it and export it again."


def test_corrupt_png_is_damaged():
    data = bytearray(encode(photo_like((300, 200)), "PNG"))
    data[200:260] = b"\0" * 60  # inside IDAT: the chunk's CRC no longer matches
    assert "damaged or incomplete" in rejection(bytes(data), "shot.png")


def test_rejection_is_a_value_error_and_without_name_says_this_file():
    with pytest.raises(ValueError, match=r"^This file is empty"):
        prepare(b"")


# --- compressed ------------------------------------------------------------------------------
def test_large_noisy_photo_is_compressed_under_the_target_as_jpeg():
    data = encode(photo_like((4000, 3000)), "JPEG", quality=95)
    assert len(data) > 5_000_000  # genuinely big, as a phone's 12 MP photo
    prepared = prepare(data, "photo.jpg")
    image = assert_consistent(prepared, data)
    assert image.format == "JPEG"
    assert max(image.size) <= inputs.LONG_EDGE
    assert max(image.size) >= inputs.LONG_EDGE_MIN
    assert image.size[0] / image.size[1] == pytest.approx(4 / 3, rel=0.01)
    assert prepared.original_name == "photo.jpg"


def test_pure_noise_still_fits_by_lowering_quality_and_size():
    # The worst case for a lossy encoder: no amount of quality alone gets it under 1.5 MB.
    data = encode(noise((1800, 1800)), "PNG", compress_level=1)
    assert catalog.INPUT_TARGET_BYTES * 4 < len(data) <= catalog.INPUT_MAX_BYTES
    prepared = prepare(data, "static.png")
    image = assert_consistent(prepared, data)
    assert image.format == "JPEG"
    assert 512 <= max(image.size) < 1800


def test_the_last_resort_always_fits(monkeypatch):
    # A target no sensible attempt reaches: the bounded ladder ends at the last resort.
    monkeypatch.setattr(catalog, "INPUT_TARGET_BYTES", 60_000)
    data = encode(noise((1500, 1500)), "PNG", compress_level=1)
    prepared = prepare(data, "static.png")
    assert prepared.sent_bytes <= 60_000
    assert max(decoded(prepared).size) in inputs.LAST_RESORT_EDGES


def transparent_logo(size: tuple[int, int]) -> Image.Image:
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    w, h = size
    draw.ellipse((w // 4, h // 4, 3 * w // 4, 3 * h // 4), fill=(200, 30, 60, 255))
    draw.rectangle((0, 0, w // 8, h // 8), fill=(0, 90, 200, 128))
    return image


def test_small_png_with_real_alpha_stays_png_with_its_transparency():
    data = encode(transparent_logo((1200, 800)), "PNG")
    prepared = prepare(data, "logo.png")
    image = assert_consistent(prepared, data)
    assert image.format == "PNG" and image.mode == "RGBA"
    assert image.size == (1200, 800)
    assert image.getpixel((1190, 790))[3] == 0  # transparent stays transparent
    assert image.getpixel((600, 400)) == (200, 30, 60, 255)
    assert image.getpixel((10, 10))[3] == 128  # half-transparent kept exactly


def test_big_detailed_png_with_alpha_keeps_its_alpha_under_the_target():
    # A cut-out product: detailed on the left, the right 40 % fully transparent.
    picture = Image.new("RGBA", (2600, 1800), (0, 0, 0, 0))
    picture.paste(photo_like((1560, 1800)).convert("RGBA"))
    data = encode(picture, "PNG")
    assert 5_000_000 < len(data) <= catalog.INPUT_MAX_BYTES
    prepared = prepare(data, "cutout.png")
    image = assert_consistent(prepared, data)
    assert image.format in ("PNG", "WEBP") and image.mode == "RGBA"
    w, h = image.size
    assert max(w, h) <= inputs.LONG_EDGE
    assert image.getpixel((w - 5, h // 2))[3] == 0
    assert image.getpixel((w // 4, h // 2))[3] == 255


def test_opaque_rgba_png_is_sent_as_jpeg():
    image = photo_like((900, 700)).convert("RGBA")  # alpha channel, every pixel 255
    data = encode(image, "PNG")
    prepared = prepare(data, "shot.png")
    out = assert_consistent(prepared, data)
    assert out.format == "JPEG" and out.mode == "RGB"
    assert prepared.extension == "jpg" and prepared.content_type == "image/jpeg"


def test_exif_orientation_is_applied_and_all_metadata_stripped():
    image = Image.new("RGB", (200, 100), (220, 20, 20))
    ImageDraw.Draw(image).rectangle((100, 0, 199, 99), fill=(20, 20, 220))  # right half blue
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    exif[0x010F] = "Phonemaker"  # Make
    exif[0x8825] = {2: (48.0, 51.0, 30.0)}  # GPS latitude
    data = encode(
        image, "JPEG", exif=exif, comment=b"secret", icc_profile=b"", dpi=(300, 300), quality=95
    )
    assert Image.open(io.BytesIO(data)).getexif()[0x0112] == 6
    prepared = prepare(data, "phone.jpg")
    out = assert_consistent(prepared, data)
    assert out.size == (100, 200)
    # Turned clockwise, the left (red) half is now on top.
    assert out.getpixel((50, 40))[0] > 180 and out.getpixel((50, 160))[2] > 180
    assert not out.getexif()
    for key in ("exif", "comment", "icc_profile", "xmp", "dpi"):
        assert key not in out.info


def test_small_jpeg_stays_small_and_is_still_re_encoded():
    exif = Image.Exif()
    exif[0x010F] = "Phonemaker"
    data = encode(photo_like((320, 240)), "JPEG", quality=80, exif=exif)
    prepared = prepare(data, "thumb.jpg")
    out = assert_consistent(prepared, data)
    assert out.size == (320, 240) and out.format == "JPEG"
    assert prepared.data != data
    assert not out.getexif()
    assert prepared.sent_bytes < 3 * len(data)


def test_palette_png_with_transparency_keeps_it():
    image = Image.new("P", (300, 200), 0)
    image.putpalette([255, 255, 255, 10, 120, 40] + [0] * 762)
    ImageDraw.Draw(image).rectangle((50, 50, 249, 149), fill=1)
    data = encode(image, "PNG", transparency=0)
    prepared = prepare(data, "icon.png")
    out = assert_consistent(prepared, data)
    assert out.mode == "RGBA" and out.format in ("PNG", "WEBP")
    assert out.getpixel((5, 5))[3] == 0
    assert out.getpixel((150, 100)) == (10, 120, 40, 255)


def test_palette_png_without_transparency_is_sent_as_jpeg():
    image = Image.new("RGB", (300, 200), (10, 120, 40)).quantize(4)
    data = encode(image, "PNG")
    out = assert_consistent(prepare(data, "flat.png"), data)
    assert out.format == "JPEG"
    r, g, b = out.getpixel((150, 100))
    assert abs(r - 10) < 12 and abs(g - 120) < 12 and abs(b - 40) < 12


def test_cmyk_jpeg_is_converted_to_rgb():
    image = Image.new("CMYK", (400, 300), (0, 255, 255, 0))  # pure red in print
    data = encode(image, "JPEG", quality=95)
    assert Image.open(io.BytesIO(data)).mode == "CMYK"
    out = assert_consistent(prepare(data, "print.jpg"), data)
    assert out.mode == "RGB" and out.format == "JPEG"
    r, g, b = out.getpixel((200, 150))
    assert r > 200 and g < 60 and b < 60


def test_16_bit_greyscale_png_is_scaled_not_clipped():
    raw = b"".join(b"\0" + struct.pack(">H", 32768) * 64 for _ in range(48))
    ihdr = struct.pack(">IIBBBBB", 64, 48, 16, 0, 0, 0, 0)
    data = (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(raw))
        + png_chunk(b"IEND", b"")
    )
    out = assert_consistent(prepare(data, "scan.png"), data)
    r, g, b = out.getpixel((32, 24))
    assert abs(r - 128) < 4 and r == g == b


def test_greyscale_with_alpha_becomes_rgba():
    image = Image.new("LA", (200, 200), (90, 255))
    ImageDraw.Draw(image).rectangle((0, 0, 49, 49), fill=(90, 0))
    data = encode(image, "PNG")
    out = assert_consistent(prepare(data, "mark.png"), data)
    assert out.mode == "RGBA"
    assert out.getpixel((10, 10))[3] == 0 and out.getpixel((150, 150)) == (90, 90, 90, 255)


def test_webp_input_is_accepted_and_re_encoded():
    data = encode(photo_like((640, 480)), "WEBP", quality=90)
    out = assert_consistent(prepare(data, "ref.webp"), data)
    assert out.size == (640, 480) and out.format == "JPEG"


def test_content_decides_not_the_extension():
    data = encode(photo_like((300, 200)), "PNG")
    prepared = prepare(data, "looks-like.gif")
    assert decoded(prepared).format == "JPEG" and prepared.original_name == "looks-like.gif"


SRGB_ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def test_srgb_profile_is_dropped():
    data = encode(photo_like((300, 200)), "JPEG", icc_profile=SRGB_ICC)
    assert Image.open(io.BytesIO(data)).info.get("icc_profile") == SRGB_ICC
    out = assert_consistent(prepare(data, "srgb.jpg"), data)
    assert "icc_profile" not in out.info


def test_other_profiles_are_converted_to_srgb_keeping_alpha(monkeypatch):
    # No wide-gamut profile ships with Pillow: make the sRGB one pass for Display P3.
    monkeypatch.setattr(ImageCms, "getProfileDescription", lambda profile: "Display P3")
    converted = []
    real = ImageCms.profileToProfile

    def spy(image, *args, **kwargs):
        converted.append(image.mode)
        return real(image, *args, **kwargs)

    monkeypatch.setattr(ImageCms, "profileToProfile", spy)
    data = encode(transparent_logo((400, 300)), "PNG", icc_profile=SRGB_ICC)
    out = assert_consistent(prepare(data, "p3.png"), data)
    assert converted == ["RGBA"]
    assert out.mode == "RGBA" and "icc_profile" not in out.info
    assert out.getpixel((390, 290))[3] == 0 and out.getpixel((200, 150))[3] == 255


def test_unreadable_profile_falls_back_to_a_plain_conversion():
    image = Image.new("CMYK", (200, 100), (0, 255, 255, 0))
    data = encode(image, "JPEG", icc_profile=b"not a profile" * 10)
    out = assert_consistent(prepare(data, "print.jpg"), data)
    r, g, b = out.getpixel((100, 50))
    assert r > 200 and g < 60 and b < 60
