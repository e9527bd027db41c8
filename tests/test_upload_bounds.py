"""Uploads are bounded: request bodies refused (413) as they stream in, pictures decoded
within a documented amount of memory, a few at a time; fuzzed picture bytes always end in
a prepared input or a message, never an exception or a decode past the bounds."""

from __future__ import annotations

import io
import threading
import time
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageFile

from imagestudio import catalog
from imagestudio.studio import imaging, inputs
from imagestudio.web import uploads
from tests.factories import bearer, make_token


def encode(image: Image.Image, fmt: str, **params) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def small(fmt: str) -> bytes:
    image = Image.linear_gradient("L").resize((64, 48)).convert("RGB")
    return encode(image, fmt)


SEEDS = {fmt: small(fmt) for fmt in ("PNG", "JPEG", "WEBP")}


def bomb_png(width: int, height: int) -> bytes:
    """A valid PNG header and IDAT claiming width × height grey pixels: a few hundred bytes
    that would decode to width × height bytes."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body).to_bytes(4, "big")
        return len(body).to_bytes(4, "big") + kind + body + crc

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 0, 0, 0, 0])
    rows = zlib.compress(b"\x00" * (width + 1) * min(height, 64), 9)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )


@pytest.fixture
def decoded_sizes(monkeypatch):
    """Every frame Pillow decodes, by size: the bound is checked on each of them."""
    sizes: list[tuple[int, int]] = []
    original = ImageFile.ImageFile.load

    def load(self):
        sizes.append(self.size)
        return original(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    return sizes


def assert_prepared_or_refused(data: bytes, sizes: list[tuple[int, int]]) -> None:
    sizes.clear()  # the fixture outlives each hypothesis example
    try:
        prepared = inputs.prepare(data, "fuzz.png")
    except inputs.InputRejected as exc:
        assert str(exc).strip()
    else:
        assert 0 < prepared.sent_bytes <= catalog.INPUT_TARGET_BYTES
        assert prepared.content_type in catalog.INPUT_TYPES.values()
    for width, height in sizes:
        assert width * height <= inputs.DECODE_MAX_PIXELS


FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(
    fmt=st.sampled_from(sorted(SEEDS)),
    edits=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=12),
    cut=st.one_of(st.none(), st.integers(0, 10_000)),
)
def test_mutated_pictures_are_prepared_or_refused_with_a_message(decoded_sizes, fmt, edits, cut):
    data = bytearray(SEEDS[fmt])
    for position, value in edits:
        data[position % len(data)] = value
    if cut is not None:
        data = data[: cut % (len(data) + 1)]
    assert_prepared_or_refused(bytes(data), decoded_sizes)


@FUZZ
@given(
    width=st.integers(1, 100_000),
    height=st.integers(1, 100_000),
)
@example(width=7000, height=7000)
@example(width=4097, height=4096)
def test_bombs_are_refused_from_their_header(decoded_sizes, width, height):
    assert_prepared_or_refused(bomb_png(width, height), decoded_sizes)
    if width * height > inputs.DECODE_MAX_PIXELS:
        assert decoded_sizes == []  # refused before a pixel was decoded


@pytest.mark.parametrize(
    "prefix, seed",
    [
        (b"%PDF-1.7\n", "PNG"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'>", "PNG"),
        (b"GIF89a", "JPEG"),
        (b"PK\x03\x04", "WEBP"),
        (b"", "PNG"),
    ],
)
def test_polyglots_are_prepared_or_refused(decoded_sizes, prefix, seed):
    for data in (prefix + SEEDS[seed], SEEDS[seed] + prefix + b"<script>x</script>"):
        assert_prepared_or_refused(data, decoded_sizes)


def test_a_large_jpeg_is_decoded_reduced(decoded_sizes):
    image = Image.linear_gradient("L").resize((7000, 7000)).convert("RGB")
    prepared = inputs.prepare(encode(image, "JPEG", quality=30), "big.jpg")
    assert max(prepared.width, prepared.height) <= inputs.LONG_EDGE
    assert all(w * h <= 2000 * 2000 for w, h in decoded_sizes)


def test_a_7000_pixel_png_is_refused_with_a_message_before_decoding(decoded_sizes):
    with pytest.raises(inputs.InputRejected, match="too large to prepare"):
        inputs.prepare(bomb_png(7000, 7000), "big.png")
    assert decoded_sizes == []


def test_only_a_few_pictures_are_decoded_at_once(monkeypatch):
    busy, peak, lock = 0, 0, threading.Lock()

    def slow(data, name, label):
        nonlocal busy, peak
        with lock:
            busy += 1
            peak = max(peak, busy)
        time.sleep(0.05)
        with lock:
            busy -= 1

    monkeypatch.setattr(inputs, "_prepare", slow)
    threads = [threading.Thread(target=inputs.prepare, args=(SEEDS["PNG"],)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak == inputs.DECODE_SLOTS


@FUZZ
@given(
    fmt=st.sampled_from(sorted(SEEDS)),
    edits=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=8),
)
def test_gateway_results_are_images_or_not_images(settings, fmt, edits):
    data = bytearray(SEEDS[fmt])
    for position, value in edits:
        data[position % len(data)] = value
    try:
        image = imaging.inspect(bytes(data))
    except imaging.NotAnImage:
        return
    assert image.width * image.height <= settings.MAX_IMAGE_PIXELS


# -- request bodies ----------------------------------------------------------------------------


class Unreadable(io.BytesIO):
    def read(self, *args):
        raise AssertionError("the body was read")

    readline = read


@pytest.fixture
def api(db, owner):
    _, raw = make_token(owner)
    return Client(headers=bearer(raw))


def test_a_body_declared_over_the_limit_is_refused_before_it_is_read(api, settings):
    response = api.generic(
        "POST",
        "/api/v1/edits",
        b"",
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(settings.MAX_REQUEST_BYTES + 1),
        **{"wsgi.input": Unreadable()},
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"


def test_a_file_over_the_limit_stops_the_upload_as_it_streams_in(api, settings, monkeypatch):
    settings.MAX_UPLOAD_FILE_BYTES = 200_000
    seen: list[int] = []
    original = uploads.BoundedUploadHandler.receive_data_chunk

    def counting(self, raw_data, start):
        seen.append(start + len(raw_data))
        return original(self, raw_data, start)

    monkeypatch.setattr(uploads.BoundedUploadHandler, "receive_data_chunk", counting)
    big = SimpleUploadedFile("big.png", b"\x89PNG" + b"\x00" * 5_000_000, "image/png")
    response = api.post("/api/v1/edits", {"prompt": "x", "image": big})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    # Stopped at the first chunk past the limit, not after 5 MB.
    assert max(seen) <= settings.MAX_UPLOAD_FILE_BYTES + 64 * 1024 * 2


def test_a_page_upload_over_the_limit_is_a_413_page(owner_client, settings):
    settings.MAX_UPLOAD_FILE_BYTES = 100_000
    big = SimpleUploadedFile("big.png", b"\x89PNG" + b"\x00" * 300_000, "image/png")
    response = owner_client.post("/inputs", {"image": big})
    assert response.status_code == 413
    page = response.content.decode()
    assert "too large" in page and 'class="topbar"' in page


def test_a_page_body_declared_over_the_limit_is_a_413(owner_client, settings):
    response = owner_client.generic(
        "POST",
        "/inputs",
        b"",
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(settings.MAX_REQUEST_BYTES + 1),
        **{"wsgi.input": Unreadable()},
    )
    assert response.status_code == 413


def test_a_page_multipart_body_without_a_boundary_is_a_400_page(owner_client):
    response = owner_client.post("/inputs", b"--x\r\n", content_type="multipart/form-data")
    assert response.status_code == 400
    assert 'class="topbar"' in response.content.decode()


def test_a_file_at_the_limit_goes_through_to_the_picture_check(api, settings):
    settings.MAX_UPLOAD_FILE_BYTES = 200_000
    ok = SimpleUploadedFile("small.png", SEEDS["PNG"], "image/png")
    response = api.post("/api/v1/edits", {"prompt": "x", "image": ok})
    assert response.status_code != 413
