"""ZIP delivery (campaigns.delivery): the originals under readable unique names and a
manifest.csv that Excel and csv read back, streamed chunk by chunk."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest
from PIL import Image

from imagestudio.campaigns import delivery
from imagestudio.studio.models import Generation, Status
from tests.factories import make_board, make_finished, make_generation, make_star
from tests.test_storage_s3 import s3  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def _read(response) -> zipfile.ZipFile:
    assert response.streaming
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def _manifest(archive: zipfile.ZipFile) -> list[dict[str, str]]:
    raw = archive.read("manifest.csv")
    assert raw.startswith("\ufeff".encode())
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))


def test_a_selection_downloads_as_originals_named_by_id_and_prompt_with_a_manifest(owner):
    english = make_finished(owner, prompt="Summer sale poster, bold")
    chinese = make_finished(
        owner, prompt="夏季促销海报", variables={"product": "帽子", "slogan": "=SUM(A1)"}
    )
    make_star(owner, chinese)
    response = delivery.zip_response(
        Generation.objects.filter(pk__in=[english.pk, chinese.pk]).order_by("pk"),
        user=owner,
        filename="selection",
    )
    assert response["Content-Type"] == "application/zip"
    assert 'filename="selection.zip"' in response["Content-Disposition"]
    archive = _read(response)
    names = archive.namelist()
    assert names[0] == "manifest.csv"
    assert f"{english.pk}-summer-sale-poster-bold.jpg" in names
    assert f"{chinese.pk}-夏季促销海报.jpg" in names
    rows = _manifest(archive)
    assert list(rows[0])[: len(delivery.COLUMNS)] == list(delivery.COLUMNS)
    assert list(rows[0])[len(delivery.COLUMNS) :] == ["product", "slogan"]
    by_id = {row["id"]: row for row in rows}
    assert by_id[str(chinese.pk)]["starred"] == "true"
    assert by_id[str(english.pk)]["starred"] == "false"
    assert by_id[str(chinese.pk)]["product"] == "帽子"
    # A value that a spreadsheet would evaluate is kept as text.
    assert by_id[str(chinese.pk)]["slogan"] == "'=SUM(A1)"
    for row in rows:
        with Image.open(io.BytesIO(archive.read(row["file"]))) as picture:
            picture.load()
            assert picture.size == (int(row["width"]), int(row["height"]))


def test_a_board_download_names_the_board_in_the_manifest(owner):
    image = make_finished(owner)
    board = make_board(owner, "Summer sale 2027", items=[image])
    response = delivery.zip_response(
        board.generations.all(), user=owner, filename="summer", board=board
    )
    rows = _manifest(_read(response))
    assert [row["board"] for row in rows] == ["Summer sale 2027"]


def test_a_selection_download_lists_the_boards_the_caller_can_see(owner, other_user):
    image = make_finished(owner)
    make_board(owner, "Mine", items=[image])
    make_board(other_user, "Theirs", items=[image])
    rows = _manifest(
        _read(delivery.zip_response(Generation.objects.all(), user=owner, filename="x"))
    )
    assert rows[0]["board"] == "Mine"


def test_images_without_an_original_are_left_out(owner):
    make_generation(owner, status=Status.FAILED)
    kept = make_finished(owner)
    deleted = make_finished(owner)
    deleted.soft_delete()
    archive = _read(delivery.zip_response(Generation.objects.all(), user=owner, filename="x"))
    assert [row["id"] for row in _manifest(archive)] == [str(kept.pk)]


def test_the_same_name_twice_is_numbered():
    assert delivery._unique(["1-a.png", "1-a.png", "2.png"]) == ["1-a.png", "1-a-2.png", "2.png"]


def test_an_empty_prompt_slug_leaves_the_id_alone(owner):
    image = make_finished(owner, prompt="!!!")
    assert delivery.file_name(image) == f"{image.pk}.jpg"


def test_files_are_read_in_chunks_not_whole(owner):
    image = make_finished(owner)
    chunks = list(delivery.read_chunks(image.image.name, chunk=100))
    assert len(chunks) > 1
    assert max(len(c) for c in chunks) == 100


def test_nothing_is_read_from_storage_before_streaming(owner, monkeypatch):
    make_finished(owner)
    opened = []
    real = delivery.read_chunks

    def spy(name, chunk=delivery.CHUNK):
        opened.append(name)
        yield from real(name, chunk)

    monkeypatch.setattr(delivery, "read_chunks", spy)
    response = delivery.zip_response(Generation.objects.all(), user=owner, filename="x")
    assert opened == []
    b"".join(response.streaming_content)
    assert len(opened) == 1


def test_the_download_name_of_a_chinese_board_stays_readable():
    assert delivery.archive_name("夏季 促销 2027", "board") == "夏季-促销-2027"
    assert delivery.archive_name("!!!", "board") == "board"


# --- S3: the object's body read as it arrives ----------------------------------------------
S3_SCRIPT = """
import io, json, zipfile
import django
django.setup()
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from zipstream import ZipStream
from imagestudio.campaigns import delivery
data = bytes(range(256)) * 4096  # 1 MiB
name = default_storage.save("images/test/big.png", ContentFile(data))
chunks = list(delivery.read_chunks(name, chunk=64 * 1024))
stream = ZipStream()
stream.add(delivery.read_chunks(name), "big.png")
archive = zipfile.ZipFile(io.BytesIO(b"".join(stream)))
print(json.dumps({
    "backend": type(default_storage._wrapped).__name__,
    "chunks": len(chunks),
    "same": b"".join(chunks) == data,
    "zipped": archive.read("big.png") == data,
}))
"""


def test_files_stream_from_s3_in_chunks(s3, tmp_path):  # noqa: F811
    import json
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    endpoint, _client = s3
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMAGESTUDIO_")}
    env.update(
        DJANGO_SETTINGS_MODULE="imagestudio.settings",
        IMAGESTUDIO_DATA_DIR=str(tmp_path),
        IMAGESTUDIO_S3_BUCKET="imagestudio-test",
        IMAGESTUDIO_S3_ENDPOINT_URL=endpoint,
        IMAGESTUDIO_S3_ACCESS_KEY_ID="test-key-id",
        IMAGESTUDIO_S3_SECRET_ACCESS_KEY="test-secret",
        IMAGESTUDIO_S3_REGION="us-east-1",
    )
    result = subprocess.run(
        [sys.executable, "-c", S3_SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found == {"backend": "S3Storage", "chunks": 16, "same": True, "zipped": True}
