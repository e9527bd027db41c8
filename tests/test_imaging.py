import hashlib
import io

import pytest
from django.core.files.storage import default_storage
from PIL import Image

from imagestudio.studio import imaging


def png(width: int, height: int, mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, (width, height), "teal").save(out, "PNG", compress_level=1)
    return out.getvalue()


def test_store_keeps_original_and_a_webp_thumbnail():
    data = png(3840, 2160)
    fields = imaging.store(data)
    assert (fields["width"], fields["height"], fields["bytes"]) == (3840, 2160, len(data))
    assert fields["sha256"] == hashlib.sha256(data).hexdigest()
    with default_storage.open(fields["image"]) as f:
        assert f.read() == data
    with default_storage.open(fields["thumbnail"]) as f:
        thumb = Image.open(io.BytesIO(f.read()))
        assert thumb.format == "WEBP"
        assert max(thumb.size) == 512 and thumb.size == (512, 288)
    assert fields["image"].endswith(".png") and fields["thumbnail"].endswith(".webp")


def test_portrait_and_palette_images_thumbnail_on_their_long_edge():
    fields = imaging.store(png(941, 1672, "P"))
    with default_storage.open(fields["thumbnail"]) as f:
        assert Image.open(io.BytesIO(f.read())).size[1] == 512


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"<svg xmlns='http://www.w3.org/2000/svg'></svg>",
        b"%PDF-1.4 not an image",
        b'{"error": "html or json instead of bytes"}',
    ],
)
def test_bytes_that_are_not_an_image_are_refused(data):
    with pytest.raises(imaging.NotAnImage):
        imaging.store(data)
    assert not default_storage.exists("images")


def test_truncated_png_is_refused():
    data = png(800, 600)
    with pytest.raises(imaging.NotAnImage):
        imaging.inspect(data[: len(data) // 2])


def test_decompression_bomb_is_refused(settings):
    settings.MAX_IMAGE_PIXELS = 1_000_000
    with pytest.raises(imaging.NotAnImage):
        imaging.inspect(png(2000, 2000))


def test_rescue_keeps_bytes_on_local_disk(settings, tmp_path):
    path = imaging.rescue(7, b"paid-for bytes")
    assert path.read_bytes() == b"paid-for bytes"
    assert path.parent == tmp_path / "rescued"
