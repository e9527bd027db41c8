"""The AI-content labels on what leaves the studio (campaigns.labelling): GB 45438-2025's
AIGC record and IPTC's digital source type in the file's own XMP, read back with Pillow
from PNG, JPEG and WebP; the visible label measured on the pixels; the original kept
byte for byte."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import zipfile

import pytest
from django.core.files.storage import default_storage
from django.utils import translation
from PIL import Image

from imagestudio.accounts.models import Preference
from imagestudio.campaigns import delivery, labelling
from imagestudio.studio import imaging
from imagestudio.studio.models import Generation
from tests.factories import make_finished, make_team, make_token, picture_bytes

pytestmark = pytest.mark.django_db

GRAY = (128, 128, 128)


def xmp_of(data: bytes) -> str:
    """The XMP packet as Pillow reads it from the file."""
    with Image.open(io.BytesIO(data)) as picture:
        picture.load()
        raw = picture.info.get("xmp") or picture.info.get("XML:com.adobe.xmp")
    assert raw, "no XMP in the file"
    return raw.decode("utf-8") if isinstance(raw, bytes) else raw


def aigc_of(data: bytes) -> dict[str, str]:
    packet = xmp_of(data)
    found = re.search(r"TC260:AIGC=([\"'])(.*?)\1", packet)
    assert found, packet
    return json.loads(html.unescape(found.group(2)))


def sample(fmt: str, **options) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 200), GRAY).save(out, fmt, **options)
    return out.getvalue()


def item() -> labelling.Content:
    return labelling.Content(
        content_id="imagestudio-7-0123456789abcdef",
        producer="市场部工作室",
        propagator="市场部工作室",
        propagate_id="imagestudio-7-0123456789abcdef",
    )


@pytest.mark.parametrize(
    ("fmt", "options"),
    [
        ("PNG", {}),
        ("JPEG", {"quality": 90}),
        ("WEBP", {"quality": 80}),  # simple lossy: VP8
        ("WEBP", {"lossless": True}),  # simple lossless: VP8L
    ],
)
def test_the_implicit_label_is_in_the_files_own_metadata_and_the_pixels_are_untouched(fmt, options):
    original = sample(fmt, **options)
    xmp = labelling.xmp_packet(item())
    # Fed in small pieces, as storage hands them out.
    pieces = [original[i : i + 7] for i in range(0, len(original), 7)]
    labelled = b"".join(labelling.with_implicit_label(pieces, xmp, size=(320, 200)))
    assert aigc_of(labelled) == {
        "Label": "1",
        "ContentProducer": "市场部工作室",
        "ProduceID": "imagestudio-7-0123456789abcdef",
        "ReservedCode1": "",
        "ContentPropagator": "市场部工作室",
        "PropagateID": "imagestudio-7-0123456789abcdef",
        "ReservedCode2": "",
    }
    assert labelling.TRAINED_ALGORITHMIC_MEDIA in xmp_of(labelled)
    with Image.open(io.BytesIO(original)) as a, Image.open(io.BytesIO(labelled)) as b:
        assert a.format == b.format and a.size == b.size
        assert a.convert("RGB").tobytes() == b.convert("RGB").tobytes()


def test_a_webp_that_already_has_a_vp8x_header_gets_its_xmp_flag():
    original = io.BytesIO()
    Image.new("RGBA", (64, 40), (10, 20, 30, 128)).save(original, "WEBP", exif=b"Exif\x00\x00")
    data = original.getvalue()
    assert data[12:16] == b"VP8X"
    labelled = b"".join(labelling.with_implicit_label([data], labelling.xmp_packet(item())))
    assert labelled[20] & 0x04
    assert aigc_of(labelled)["Label"] == "1"


def text_height(data: bytes) -> tuple[int, int]:
    """Rows holding the label's white text, and the shorter side, measured on the pixels
    of a copy whose original is plain grey."""
    with Image.open(io.BytesIO(data)) as picture:
        pixels = picture.convert("L")
    width, height = pixels.size
    values = pixels.load()
    rows = [y for y in range(height) if any(values[x, y] > 235 for x in range(width))]
    assert rows, "no label drawn"
    return max(rows) - min(rows) + 1, min(width, height)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_visible_label_is_at_least_five_percent_of_the_shorter_side(fmt, language):
    original = sample(fmt)
    with translation.override(language):
        text = labelling.visible_text()
        labelled = labelling.with_visible_label(original, labelling.xmp_packet(item()), text)
    assert text == ("AI生成" if language == "zh-hans" else "AI-generated")
    high, short = text_height(labelled)
    assert high >= 0.05 * short
    assert aigc_of(labelled)["ProduceID"] == "imagestudio-7-0123456789abcdef"
    with Image.open(io.BytesIO(labelled)) as picture:
        assert picture.format == fmt and picture.size == (320, 200)
        # In the bottom-right corner: the top-left quarter is the original's grey.
        corner = picture.convert("RGB").crop((0, 0, 160, 100))
        assert set(corner.getdata()) <= {GRAY, (127, 127, 127), (129, 129, 129)}


def test_a_download_carries_the_labels_and_the_original_stays_byte_for_byte(owner_client, owner):
    image = make_finished(owner)
    stored = default_storage.open(image.image.name).read()
    url = f"/g/{image.pk}/image"
    copy = b"".join(owner_client.get(url, {"download": "1"}).streaming_content)
    aigc = aigc_of(copy)
    assert aigc["ProduceID"] == f"imagestudio-{image.pk}-{image.sha256[:16]}"
    assert aigc["ContentProducer"] == "ImageStudio"
    original = owner_client.get(url, {"original": "1", "download": "1"})
    assert b"".join(original.streaming_content) == stored
    assert "attachment" in original["Content-Disposition"]


def test_the_users_setting_adds_the_visible_label_to_downloads_only(owner_client, owner):
    image = make_finished(owner, **imaging.store(picture_bytes("PNG", (300, 200), GRAY)))
    Preference.objects.create(user=owner, visible_label=True)
    url = f"/g/{image.pk}/image"
    shown = owner_client.get(url)
    downloaded = owner_client.get(url, {"download": "1"})
    assert shown["X-Content-Labels"] == f"{labelling.IMPLICIT},{labelling.EU_MARK}"
    assert downloaded["X-Content-Labels"].endswith(labelling.VISIBLE)
    high, short = text_height(b"".join(downloaded.streaming_content))
    assert high >= 0.05 * short


def test_the_zip_labels_each_file_and_its_manifest_says_which(owner):
    team = make_team("视觉组", owner)
    team.visible_label = True
    team.save()
    plain = make_finished(owner, prompt="plain")
    marked = make_finished(owner, team=team, prompt="marked", **imaging.store(sample("PNG")))
    response = delivery.zip_response(
        Generation.objects.filter(pk__in=[plain.pk, marked.pk]).order_by("pk"),
        user=owner,
        filename="x",
    )
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    raw = archive.read("manifest.csv").decode("utf-8-sig")
    rows = {row["id"]: row for row in csv.DictReader(io.StringIO(raw))}
    assert rows[str(plain.pk)]["labels"] == f"{labelling.IMPLICIT} {labelling.EU_MARK}"
    assert rows[str(marked.pk)]["labels"].endswith(labelling.VISIBLE)
    for row in rows.values():
        data = archive.read(row["file"])
        assert aigc_of(data)["ProduceID"] == row["content_id"]
    high, short = text_height(archive.read(rows[str(marked.pk)]["file"]))
    assert high >= 0.05 * short


def test_the_apis_image_is_a_labelled_copy(client, owner):
    image = make_finished(owner)
    _, raw = make_token(owner)
    response = client.get(
        f"/api/v1/generations/{image.pk}/image", headers={"Authorization": f"Bearer {raw}"}
    )
    assert response.status_code == 200
    assert aigc_of(b"".join(response.streaming_content))["Label"] == "1"


def test_the_visible_label_is_chosen_on_the_preferences_page(owner_client, owner):
    page = owner_client.get("/account/preferences/").content.decode()
    assert 'name="visible_label"' in page
    response = owner_client.post(
        "/account/preferences/", {"language": "", "time_zone": "", "visible_label": "on"}
    )
    assert response.status_code == 302
    assert Preference.objects.get(user=owner).visible_label
