"""POST /api/v1/edits (multipart) and POST /api/v1/generations/{id}/iterate."""

from __future__ import annotations

import json

import pytest

from imagestudio import catalog
from imagestudio.studio.models import Generation, Kind, Status
from tests.factories import make_finished, picture_bytes
from tests.test_api_generations import Api

pytestmark = pytest.mark.django_db
EDITS = "/api/v1/edits"
BOUNDARY = "----imagestudio-test-boundary"


@pytest.fixture
def api(owner) -> Api:
    return Api(owner)


def multipart(parts: list[tuple[str, str | tuple[str, bytes]]]) -> bytes:
    """Parts in exactly this order: (name, value) or (name, (filename, bytes))."""
    chunks = []
    for name, value in parts:
        chunks.append(f"--{BOUNDARY}\r\n".encode())
        if isinstance(value, tuple):
            filename, data = value
            chunks.append(
                f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n".encode()
            )
            chunks.append(data)
        else:
            chunks.append(f'Content-Disposition: form-data; name="{name}"\r\n\r\n{value}'.encode())
        chunks.append(b"\r\n")
    chunks.append(f"--{BOUNDARY}--\r\n".encode())
    return b"".join(chunks)


def post_edit(api: Api, parts):
    return api.client.post(
        EDITS,
        multipart(parts),
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
        headers=api.headers,
    )


def finished(user, prompt="a mug") -> Generation:
    return make_finished(user, prompt=prompt)


def test_numbered_pictures_mix_files_and_sources_in_their_numbers_order(api, owner):
    source = finished(owner)
    response = post_edit(
        api,
        [
            ("model", catalog.VIP),
            ("prompt", "put the logo from image3 on the mug in image1"),
            # Sent out of order on purpose: the numbers decide, not the body.
            ("image3", ("logo.png", picture_bytes(color=(0, 0, 250), fmt="PNG"))),
            ("image1", ("mug.jpg", picture_bytes())),
            ("image2", str(source.pk)),
            ("size", "1280x720"),
            ("fallback_2k", "false"),
        ],
    )
    assert response.status_code == 202, response.content
    body = response.json()
    (g,) = body["generations"]
    assert g["kind"] == "edit" and g["status"] == "queued"
    assert g["size"] == "1280x720"
    assert [i["name"] for i in g["inputs"]] == ["image1", "image2", "image3"]
    assert [i["original_name"] for i in g["inputs"]] == ["mug.jpg", f"#{source.pk}", "logo.png"]
    assert [i["source"] for i in g["inputs"]] == [None, source.pk, None]
    assert g["parents"] == [source.pk]
    assert g["thread"] == source.pk
    for item in g["inputs"]:
        assert 0 < item["sent_bytes"] <= catalog.INPUT_TARGET_BYTES
        assert item["original_bytes"] > 0 and item["width"] and item["height"]
    gen = Generation.objects.get(pk=g["id"])
    assert gen.fallback_2k is False
    # The input files are served back to the owner.
    first = api.get(g["inputs"][0]["url"])
    assert first.status_code == 200


def test_older_image_and_source_names_keep_their_order_within_their_kind(api, owner):
    first, second = finished(owner, "one"), finished(owner, "two")
    response = post_edit(
        api,
        [
            ("model", catalog.ALL),
            ("prompt", "x"),
            ("source", str(second.pk)),
            ("source", str(first.pk)),
        ],
    )
    assert response.status_code == 202, response.content
    (g,) = response.json()["generations"]
    assert [i["source"] for i in g["inputs"]] == [second.pk, first.pk]


@pytest.mark.parametrize(
    ("parts", "words"),
    [
        ([("image", ("a.jpg", b"x")), ("source", "1")], "image1, image2"),
        ([("image1", ("a.jpg", b"x")), ("image", ("b.jpg", b"x"))], "not both"),
        ([("image1", ("a.jpg", b"x")), ("image3", ("b.jpg", b"x"))], "without image2"),
        ([("image1", "a mug")], "neither a file nor a generation id"),
    ],
)
def test_picture_names_that_leave_the_order_unclear_are_refused(api, parts, words):
    response = post_edit(api, [("model", catalog.ALL), ("prompt", "x"), *parts])
    assert response.status_code == 400
    assert words in response.json()["error"]["message"]
    assert not Generation.objects.exists()


def test_image_brackets_field_name_is_accepted(api):
    response = post_edit(
        api,
        [("model", catalog.ALL), ("prompt", "edit"), ("image[]", ("a.jpg", picture_bytes()))],
    )
    assert response.status_code == 202
    assert response.json()["generations"][0]["size"] == ""


def test_json_body_is_a_clear_400(api):
    response = api.post(EDITS, {"model": catalog.ALL, "prompt": "x"})
    assert response.status_code == 400
    assert "multipart/form-data" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "SVG"),
        (b"%PDF-1.4", "PDF"),
        (b"hello", "not an image"),
    ],
)
def test_a_bad_picture_names_it(api, data, words):
    response = post_edit(
        api,
        [
            ("model", catalog.ALL),
            ("prompt", "x"),
            ("image", ("ok.jpg", picture_bytes())),
            ("image", ("bad.png", data)),
        ],
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["field"] == "image"
    assert "image2" in error["message"] and words.lower() in error["message"].lower()
    assert not Generation.objects.exists()


def test_no_picture_and_bad_fields(api):
    response = post_edit(api, [("model", "dall-e"), ("prompt", "")])
    error = response.json()["error"]
    assert response.status_code == 400
    assert {"model", "prompt", "image"} <= set(error["fields"])


def test_someone_elses_source_is_refused(api, other_user):
    theirs = finished(other_user)
    response = post_edit(api, [("model", catalog.ALL), ("prompt", "x"), ("source", str(theirs.pk))])
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "source"


def test_too_many_pictures(api):
    parts = [("model", catalog.ALL), ("prompt", "x")]
    parts += [("image", (f"{n}.jpg", picture_bytes())) for n in range(catalog.MAX_INPUTS + 1)]
    response = post_edit(api, parts)
    assert response.status_code == 400
    assert f"at most {catalog.MAX_INPUTS}" in response.json()["error"]["message"]


def test_edits_needs_a_token_and_post(client, api):
    assert client.post(EDITS).status_code == 401
    assert api.get(EDITS).status_code == 405


# -- iterate --------------------------------------------------------------------------


def test_iterate_queues_the_next_turn(api, owner):
    root = finished(owner)
    response = api.post(f"/api/v1/generations/{root.pk}/iterate", {"prompt": "make it blue"})
    assert response.status_code == 202
    (g,) = response.json()["generations"]
    assert g["kind"] == Kind.CHAT and g["parents"] == [root.pk] and g["thread"] == root.pk
    assert g["model"] == root.model and g["size"] == root.size
    assert len(g["inputs"]) == 1 and g["inputs"][0]["source"] == root.pk
    # GET returns the same lineage.
    again = api.get(f"/api/v1/generations/{g['id']}").json()
    assert again["parents"] == [root.pk] and again["inputs"] == g["inputs"]


def test_iterate_errors(api, owner, other_user):
    root = finished(owner)
    url = f"/api/v1/generations/{root.pk}/iterate"
    assert api.post(url, {"prompt": ""}).status_code == 400
    assert api.post(url, "not json").status_code == 400
    assert api.get(url).status_code == 405
    theirs = finished(other_user)
    assert api.post(f"/api/v1/generations/{theirs.pk}/iterate", {"prompt": "x"}).status_code == 404
    Generation.objects.filter(pk=root.pk).update(status=Status.FAILED)
    response = api.post(url, {"prompt": "x"})
    assert response.status_code == 409
    assert json.loads(response.content)["error"]["code"] == "not_finished"
