"""Masks: checked as the gateway checks them (studio.masks), refused with no call, stored with
the edit's inputs, sent as the edit's `mask` file, and drawn by the simulator only where
they are transparent."""

from __future__ import annotations

import io

import httpx
import pytest
from django.core.files.storage import default_storage
from PIL import Image, ImageDraw

from imagestudio import catalog
from imagestudio.studio import masks, services
from imagestudio.studio.models import Generation, GenerationInput, Kind, Status
from imagestudio.studio.tasks import run_generation
from tests.factories import picture_bytes
from tests.test_api_edits import api, post_edit  # noqa: F401  (fixture)

OFFICIAL = "gpt-image-2"
# The mask's transparent box over a picture of SIZE: its top-left quarter.
SIZE = (400, 300)
BOX = (0, 0, 199, 149)


def mask_png(size=SIZE, box=BOX, mode="RGBA") -> bytes:
    """Opaque black with `box` transparent (or, without alpha, the same drawn in grey)."""
    image = Image.new("RGBA", size, (0, 0, 0, 255))
    if box is not None:
        ImageDraw.Draw(image).rectangle(box, fill=(0, 0, 0, 0))
    out = io.BytesIO()
    (image if mode == "RGBA" else image.convert(mode)).save(out, "PNG")
    return out.getvalue()


def alpha_of(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("RGBA").getchannel("A")


def test_the_routes_that_take_a_mask_are_the_catalogs():
    assert masks.takes_mask(OFFICIAL)
    assert not masks.takes_mask(catalog.VIP)
    assert not masks.takes_mask("no-such-model")
    assert OFFICIAL in masks.mask_models()


def test_a_mask_is_sent_with_the_painted_area_transparent_and_the_rest_opaque():
    # Painted at the caller's size (800×600), sent at the picture's size as sent.
    sent = masks.prepare(
        mask_png(size=(800, 600), box=(0, 0, 399, 299)), sent=SIZE, original=(800, 600)
    )
    assert (sent.width, sent.height, sent.content_type) == (400, 300, "image/png")
    alpha = alpha_of(sent.data)
    assert alpha.size == SIZE
    assert alpha.getpixel((10, 10)) == 0 and alpha.getpixel((199, 149)) == 0
    assert alpha.getpixel((201, 151)) == 255 and alpha.getpixel((390, 10)) == 255
    assert set(alpha.get_flattened_data()) == {0, 255}


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (mask_png(size=(100, 100)), "100×100"),
        (mask_png(mode="RGB"), "no transparency"),
        (mask_png(box=None), "Nothing is painted"),
        (picture_bytes(size=SIZE), "PNG"),
        (b"", "Nothing is painted"),
    ],
    ids=["wrong-size", "no-alpha", "empty", "jpeg", "no-bytes"],
)
def test_a_mask_the_gateway_would_refuse_is_refused_with_its_reason(data, words):
    with pytest.raises(masks.MaskRejected, match=words):
        masks.prepare(data, sent=SIZE, original=None)


# -- the API -------------------------------------------------------------------------------


def edit_parts(model=OFFICIAL, mask=None):
    parts = [
        ("model", model),
        ("prompt", "make the top-left corner blue"),
        ("size", catalog.default_size(model)),
        ("image1", ("poster.png", picture_bytes(fmt="PNG", size=SIZE))),
    ]
    if mask is not None:
        parts.append(("mask", ("mask.png", mask)))
    return parts


@pytest.mark.django_db
def test_the_api_takes_a_mask_and_lists_it_after_the_pictures(api):  # noqa: F811
    response = post_edit(api, edit_parts(mask=mask_png()))
    assert response.status_code == 202, response.content
    (row,) = response.json()["generations"]
    names = [item["name"] for item in row["inputs"]]
    assert names == ["image1", "mask"]
    mask = row["inputs"][1]
    assert (mask["width"], mask["height"], mask["content_type"]) == (400, 300, "image/png")
    served = api.client.get(mask["url"], headers=api.headers)
    assert served.status_code == 200
    alpha = alpha_of(b"".join(served.streaming_content))
    assert alpha.getpixel((10, 10)) == 0 and alpha.getpixel((390, 290)) == 255


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("model", "mask", "words"),
    [
        (catalog.VIP, mask_png(), "does not take a mask"),
        (OFFICIAL, mask_png(size=(64, 64)), "64×64"),
        (OFFICIAL, mask_png(mode="RGB"), "no transparency"),
        (OFFICIAL, mask_png(box=None), "Nothing is painted"),
    ],
    ids=["route-without-masks", "wrong-size", "no-alpha", "empty"],
)
def test_a_refused_mask_is_a_400_naming_mask_and_nothing_is_queued(api, model, mask, words):  # noqa: F811
    response = post_edit(api, edit_parts(model=model, mask=mask))
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["field"] == "mask" and words in error["message"]
    assert not Generation.objects.exists()
    assert not GenerationInput.objects.exists()


# -- what reaches the gateway --------------------------------------------------------------


@pytest.mark.django_db
def test_the_simulator_gets_the_mask_and_changes_only_its_transparent_area(owner, gateway):
    picture = picture_bytes(fmt="PNG", size=SIZE, color=(200, 30, 30))
    request = services.validate(
        model=OFFICIAL, prompt="blue corner", size=catalog.default_size(OFFICIAL), count=1
    )
    _, (gen,) = services.edit(owner, request, [services.Upload(picture, "p.png")], mask=mask_png())
    assert gen.kind == Kind.EDIT
    assert run_generation(gen.pk) == "succeeded"
    gen.refresh_from_db()
    assert gen.status == Status.SUCCEEDED
    with default_storage.open(gen.image.name) as fh:
        result = Image.open(fh).convert("RGB")
    # The answer keeps image1 where the mask was opaque and is new where it was clear.
    w, h = result.size
    assert result.getpixel((int(w * 0.9), int(h * 0.9))) == (200, 30, 30)
    assert result.getpixel((int(w * 0.75), int(h * 0.25))) == (200, 30, 30)
    assert result.getpixel((int(w * 0.1), int(h * 0.1))) != (200, 30, 30)


def sim_edit(base: str, picture: bytes, mask: bytes) -> httpx.Response:
    return httpx.post(
        f"{base}/images/edits",
        data={"model": OFFICIAL, "prompt": "blue corner"},
        files=[("image", ("p.png", picture, "image/png")), ("mask", ("m.png", mask, "image/png"))],
        headers={"Authorization": "Bearer sk-simulated"},
        timeout=30,
    )


@pytest.mark.parametrize(
    ("mask", "words"),
    [(mask_png(size=(64, 64)), "same dimensions"), (mask_png(mode="RGB"), "alpha channel")],
    ids=["wrong-size", "no-alpha"],
)
def test_the_simulator_refuses_a_mask_as_the_gateway_does(simulator_url, mask, words):
    response = sim_edit(simulator_url, picture_bytes(fmt="PNG", size=SIZE), mask)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == "mask" and words in error["message"]


# -- the studio form -----------------------------------------------------------------------


def form_with_mask(client, owner, model: str, mask: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    staged = services.stage(owner, picture_bytes(fmt="PNG", size=SIZE), "poster.png")
    return client.post(
        reverse("studio:generate"),
        {
            "prompt": "a blue sky in the painted corner",
            "model": model,
            "size": catalog.default_size(model),
            "count": "1",
            "input": staged.pk,
            "mask": SimpleUploadedFile("mask.png", mask, content_type="image/png"),
        },
        HTTP_HX_REQUEST="true",
    )


@pytest.mark.django_db
def test_the_studio_form_sends_its_painted_mask_with_the_edit(owner_client, owner):
    response = form_with_mask(owner_client, owner, OFFICIAL, mask_png())
    assert response.status_code == 200
    gen = Generation.objects.get(user=owner)
    assert [i.name for i in gen.inputs.order_by("position")] == ["mask", "image1"]
    with default_storage.open(gen.inputs.get(position=0).file.name) as fh:
        alpha = alpha_of(fh.read())
    assert alpha.getpixel((10, 10)) == 0 and alpha.getpixel((390, 290)) == 255


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("model", "mask", "words"),
    [(catalog.VIP, mask_png(), "does not take a mask"), (OFFICIAL, mask_png(box=None), "Nothing")],
    ids=["route-without-masks", "empty"],
)
def test_a_refused_mask_is_said_beside_the_painter(owner_client, owner, model, mask, words):
    html = form_with_mask(owner_client, owner, model, mask).content.decode()
    assert not Generation.objects.exists()
    holder = html[html.index("data-mask-holder") :]
    error = holder[holder.index("painter-holder__error") :]
    assert words in error[: error.index("</p>")]


@pytest.mark.django_db
def test_an_images_page_offers_the_painter_only_where_the_route_takes_a_mask(owner_client, owner):
    from django.urls import reverse

    from tests.factories import make_finished

    official = make_finished(owner, model=OFFICIAL, size=catalog.default_size(OFFICIAL))
    vip = make_finished(owner, model=catalog.VIP)
    html = owner_client.get(reverse("studio:detail", args=[official.pk])).content.decode()
    # Painted over the original as stored, at its pixel size.
    src = reverse("studio:image", args=[official.pk]) + "?original=1"
    assert f'data-src="{src}" data-width="{official.width}"' in html
    html = owner_client.get(reverse("studio:detail", args=[vip.pk])).content.decode()
    assert "data-mask-painter" not in html


@pytest.mark.django_db
def test_a_mask_is_not_counted_as_a_reference_picture(owner):
    picture = picture_bytes(fmt="PNG", size=SIZE)
    request = services.validate(
        model=OFFICIAL, prompt="blue corner", size=catalog.default_size(OFFICIAL), count=1
    )
    _, (gen,) = services.edit(owner, request, [services.Upload(picture, "p.png")], mask=mask_png())
    assert gen.inputs.count() == 2
    assert gen.input_count() == 1
