"""`{% image_url %}`: the tiles' links, each route reversed once and the id put in place."""

import pytest
from django.urls import reverse, set_script_prefix

from imagestudio.studio.templatetags.studio import image_url

ROUTES = ["studio:detail", "studio:image", "studio:thumb", "studio:cancel", "boards:star"]


@pytest.mark.parametrize("name", ROUTES)
def test_an_images_link_is_its_routes_own_url(name):
    for pk in (1, 42, 987654321987):
        assert image_url(name, pk) == reverse(name, args=[pk])


def test_an_images_link_keeps_the_prefix_the_studio_is_served_under():
    set_script_prefix("/design/studio/")
    try:
        assert image_url("studio:detail", 7) == reverse("studio:detail", args=[7])
        assert image_url("studio:detail", 7).startswith("/design/studio/")
    finally:
        set_script_prefix("/")
    assert not image_url("studio:detail", 7).startswith("/design/")
