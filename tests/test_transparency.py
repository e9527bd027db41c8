"""A transparent result stays transparent: stored as the gateway sent it, its WebP thumbnail
keeps the alpha, and so do the labelled copies a download and a board's ZIP hand out (the
original stays downloadable byte for byte); the simulator draws one when asked."""

from __future__ import annotations

import base64
import io
import zipfile

import httpx
import pytest
from django.core.files.storage import default_storage
from django.urls import reverse
from PIL import Image

from imagestudio.accounts.models import Preference
from imagestudio.studio import imaging
from imagestudio.studio.models import Generation
from imagestudio.studio.tasks import run_generation
from tests.factories import make_board, make_finished
from tests.test_api_generations import Api

pytestmark = pytest.mark.django_db


def transparent_png() -> bytes:
    """A cut-out: the left half clear, the right half an opaque red product."""
    image = Image.new("RGBA", (640, 480), (0, 0, 0, 0))
    image.paste((200, 30, 30, 255), (320, 0, 640, 480))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def alpha_at(data: bytes, x: float, y: float) -> int:
    """The alpha at (x, y) given as shares of the width and height."""
    image = Image.open(io.BytesIO(data))
    assert "A" in image.getbands(), f"{image.format} {image.mode} has no alpha"
    rgba = image.convert("RGBA")
    return rgba.getpixel((int(rgba.width * x), int(rgba.height * y)))[3]


def body(response) -> bytes:
    content = getattr(response, "streaming_content", None)
    return b"".join(content) if content is not None else response.content


@pytest.mark.parametrize("visible_label", [False, True], ids=["implicit-label", "visible-label"])
def test_a_transparent_result_keeps_its_alpha_in_the_thumbnail_download_and_zip(
    owner, owner_client, visible_label
):
    Preference.objects.update_or_create(user=owner, defaults={"visible_label": visible_label})
    data = transparent_png()
    gen = make_finished(owner, prompt="a cut-out product", **imaging.store(data))

    thumb = owner_client.get(reverse("studio:thumb", args=[gen.pk]))
    assert thumb.status_code == 200
    thumbnail = body(thumb)
    assert Image.open(io.BytesIO(thumbnail)).format == "WEBP"
    assert alpha_at(thumbnail, 0.1, 0.5) == 0
    assert alpha_at(thumbnail, 0.9, 0.5) == 255

    # The delivered copy carries the AI-content labels (the visible one drawn bottom
    # right when asked for) and keeps the alpha; the original is the very bytes.
    url = reverse("studio:image", args=[gen.pk])
    download = owner_client.get(url)
    assert download.status_code == 200
    delivered = body(download)
    assert alpha_at(delivered, 0.1, 0.5) == 0 and alpha_at(delivered, 0.9, 0.1) == 255
    assert body(owner_client.get(url, {"original": "1"})) == data

    board = make_board(owner, items=[gen])
    archive = owner_client.get(reverse("boards:download", args=[board.pk]))
    assert archive.status_code == 200
    with zipfile.ZipFile(io.BytesIO(body(archive))) as opened:
        (name,) = [n for n in opened.namelist() if n.endswith(".png")]
        packed = opened.read(name)
    assert alpha_at(packed, 0.1, 0.5) == 0 and alpha_at(packed, 0.9, 0.1) == 255


@pytest.mark.parametrize(("background", "corner"), [("transparent", 0), ("opaque", 255)])
def test_the_simulator_draws_a_transparent_background_where_the_route_offers_one(
    simulator_url, background, corner
):
    response = httpx.post(
        f"{simulator_url}/images/generations",
        json={
            "model": "gpt-image-2.6-all",
            "prompt": "a cut-out sneaker",
            "background": background,
            "response_format": "b64_json",
        },
        headers={"Authorization": "Bearer sk-simulated"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    data = base64.b64decode(response.json()["data"][0]["b64_json"].split(",")[-1])
    assert Image.open(io.BytesIO(data)).format == "PNG"
    rgba = Image.open(io.BytesIO(data)).convert("RGBA")
    assert rgba.getpixel((2, 2))[3] == corner
    assert rgba.getpixel((rgba.width // 2, rgba.height // 2))[3] == 255


def test_a_transparent_background_asked_through_the_api_is_stored_with_its_alpha(
    owner, owner_client, gateway
):
    api = Api(owner)
    asked = {"model": "gpt-image-2.6-all", "prompt": "a sneaker", "background": "transparent"}
    response = api.post("/api/v1/generations", {**asked, "size": "1024x1024"})
    assert response.status_code == 202, response.content
    (row,) = response.json()["generations"]
    assert row["background"] == "transparent"
    assert run_generation(row["id"]) == "succeeded"
    gen = Generation.objects.get(pk=row["id"])
    with default_storage.open(gen.image.name) as fh:
        stored = fh.read()
    assert alpha_at(stored, 0.02, 0.02) == 0 and alpha_at(stored, 0.5, 0.5) == 255
    thumbnail = body(owner_client.get(reverse("studio:thumb", args=[gen.pk])))
    assert alpha_at(thumbnail, 0.02, 0.02) == 0
    # The studio's tile shows it on a checkerboard.
    home = owner_client.get(reverse("studio:home")).content.decode()
    assert "tile__image--transparent" in home
