"""Storage refusing an upload is a clear answer, never a 500: the API's 503 in its error
envelope (an edit's input, a kit's picture), a message in the browser (a staged picture, a
kit's picture). Storage really fails here: its folder is a plain file."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from imagestudio import catalog
from imagestudio.campaigns.models import Kit
from imagestudio.studio.models import Generation
from tests.factories import bearer, make_token, picture_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def broken_storage(settings, tmp_path):
    blocked = tmp_path / "media-out"
    blocked.write_text("not a folder")
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(blocked)},
        },
    }
    settings.MEDIA_ROOT = str(blocked)


def picture() -> SimpleUploadedFile:
    return SimpleUploadedFile("a.png", picture_bytes(fmt="PNG"), "image/png")


@pytest.fixture
def api(owner) -> Client:
    _token, raw = make_token(owner)
    return Client(headers=bearer(raw))


def test_an_edit_whose_input_storage_refuses_is_a_503_and_nothing_is_queued(api):
    response = api.post(
        "/api/v1/edits", {"model": catalog.VIP, "prompt": "make it blue", "image1": picture()}
    )

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "storage_unavailable"
    assert not Generation.objects.exists()


def test_a_kit_picture_storage_refuses_is_a_503_in_the_api(api):
    response = api.post("/api/v1/kits", {"name": "Brand", "image": picture()})

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "storage_unavailable"
    assert not Kit.objects.exists()


def test_the_browser_says_so_when_a_staged_picture_or_a_kit_picture_is_refused(owner_client):
    staged = owner_client.post("/inputs", {"image": picture()}, HTTP_HX_REQUEST="true")
    assert staged.status_code == 200
    assert "could not be stored just now" in staged.content.decode()

    kit = owner_client.post(
        "/kits/new", {"name": "Brand", "model": catalog.VIP, "pictures": picture()}
    )
    assert kit.status_code == 400  # the form again, with the reason beside the pictures
    assert "could not be stored just now" in kit.content.decode()
    assert not Kit.objects.exists()
