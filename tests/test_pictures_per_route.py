"""Each route takes its own number of pictures (the catalog's max_inputs): 16 on the official
gpt-image-2, 4 on the reverse routes; numbered image1…image16, each compressed under the
gateway's advice, and refused with a 400 naming `image` past the model's limit."""

from __future__ import annotations

import pytest

from imagestudio import catalog
from imagestudio.studio import pictures
from imagestudio.studio.models import Generation
from tests.factories import picture_bytes
from tests.test_api_edits import api, post_edit  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db
OFFICIAL = "gpt-image-2"


def parts(model: str, count: int) -> list:
    numbered = [
        (
            f"image{n}",
            (f"ref{n}.png", picture_bytes(fmt="PNG", size=(16, 12), color=(n * 15, 0, 0))),
        )
        for n in range(1, count + 1)
    ]
    return [
        ("model", model),
        ("prompt", "the product from image1 in the styles of image2 to image16"),
        ("size", catalog.default_size(model)),
        *numbered,
    ]


def test_the_limits_are_the_catalogs():
    assert pictures.limit(OFFICIAL) == 16
    assert pictures.limit(catalog.VIP) == 4
    assert pictures.limit("no-such-model") == pictures.most() == 16


def test_sixteen_pictures_go_to_the_official_route_in_their_numbers_order(api):  # noqa: F811
    response = post_edit(api, parts(OFFICIAL, 16))
    assert response.status_code == 202, response.content
    (row,) = response.json()["generations"]
    assert [i["name"] for i in row["inputs"]] == [f"image{n}" for n in range(1, 17)]
    assert [i["original_name"] for i in row["inputs"]] == [f"ref{n}.png" for n in range(1, 17)]
    assert all(i["sent_bytes"] <= catalog.INPUT_TARGET_BYTES for i in row["inputs"])


@pytest.mark.parametrize(("model", "count"), [(catalog.VIP, 5), (OFFICIAL, 17)])
def test_a_picture_past_the_models_limit_is_a_400_naming_image(api, model, count):  # noqa: F811
    response = post_edit(api, parts(model, count))
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["field"] == "image"
    assert f"at most {catalog.max_inputs(model)}" in error["message"]
    assert not Generation.objects.exists()
