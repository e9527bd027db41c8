"""Brand kits in the browser: list, create (with a preset and pictures), edit, delete, and
the refusals a user can make by mistake, each said beside its field."""

from __future__ import annotations

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from imagestudio import catalog
from imagestudio.campaigns.models import Kit
from tests.factories import make_kit, make_team, picture_bytes

pytestmark = pytest.mark.django_db


def jpeg(name: str = "logo.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, picture_bytes("JPEG"), content_type="image/jpeg")


def post_kit(client, url: str = "/kits/new", **fields):
    data = {"name": "Summer brand", "model": catalog.VIP, "size": "", **fields}
    return client.post(url, data)


def test_a_kit_with_a_preset_takes_the_presets_model_and_size(owner_client, owner, team):
    poster = catalog.PRESETS_BY_KEY["poster"]

    response = post_kit(
        owner_client, team=team.pk, preset="poster", model=catalog.ALL, style="flat colours"
    )

    assert response.status_code == 302
    kit = Kit.objects.get()
    assert (kit.team, kit.created_by, kit.preset) == (team, owner, "poster")
    assert (kit.model, kit.size, kit.style) == (poster.model, poster.size, "flat colours")


def test_a_kits_pictures_are_stored_as_edit_inputs_are(owner_client):
    response = owner_client.post(
        "/kits/new",
        {"name": "With logo", "model": catalog.VIP, "pictures": [jpeg("a.jpg"), jpeg("b.jpg")]},
    )

    assert response.status_code == 302
    pictures = list(Kit.objects.get().pictures.all())
    assert [(p.position, p.original_name) for p in pictures] == [(1, "a.jpg"), (2, "b.jpg")]
    assert all(default_storage.exists(p.file.name) for p in pictures)
    assert pictures[0].content_type == "image/jpeg"


def test_the_list_shows_my_kits_and_my_teams_not_others(owner_client, owner, other_user, team):
    make_kit(owner, "Mine")
    make_kit(other_user, "Theirs")
    # A team's kit is the team's whoever made it (someone who has since left, say).
    make_kit(other_user, "Team's", team=team)

    page = owner_client.get("/kits/").content.decode()

    assert "Mine" in page and "Team&#x27;s" in page
    assert "Theirs" not in page


def test_the_edit_form_starts_from_the_kit(owner_client, owner):
    kit = make_kit(owner, "Autumn brand", style="warm light")

    form = owner_client.get(f"/kits/{kit.pk}/").context["form"]

    assert (form["name"].value(), form["style"].value()) == ("Autumn brand", "warm light")


def test_a_team_mate_edits_the_teams_kit(teammate_client, owner, team):
    kit = make_kit(owner, "Old name", team=team)

    response = post_kit(teammate_client, f"/kits/{kit.pk}/", name="New name", team=team.pk)

    assert response.status_code == 302
    kit.refresh_from_db()
    assert kit.name == "New name"


def test_new_pictures_replace_the_old_whose_files_stay_for_the_images_made_with_them(
    owner_client, owner
):
    kit = make_kit(owner, pictures=2)
    old_files = [p.file.name for p in kit.pictures.all()]

    response = owner_client.post(
        f"/kits/{kit.pk}/", {"name": kit.name, "model": kit.model, "pictures": [jpeg("new.jpg")]}
    )

    assert response.status_code == 302
    assert [p.original_name for p in kit.pictures.all()] == ["new.jpg"]
    assert all(default_storage.exists(name) for name in old_files)


def test_editing_without_new_pictures_keeps_them_and_remove_clears_them(owner_client, owner):
    kit = make_kit(owner, pictures=1)

    post_kit(owner_client, f"/kits/{kit.pk}/", style="bold")
    assert kit.pictures.count() == 1
    post_kit(owner_client, f"/kits/{kit.pk}/", remove_pictures="on")
    assert kit.pictures.count() == 0


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"name": ""}, "name", "Give the kit a name"),
        ({"name": "x" * 300}, "name", "at most"),
        ({"template": "Poster for {product"}, "template", "brace that is not closed"),
        ({"model": catalog.VIP, "size": "横版 16:9"}, "size", "has no size"),
        ({"preset": "billboard"}, "preset", "Select a valid choice"),
    ],
)
def test_bad_fields_are_refused_beside_the_field(owner_client, fields, field, words):
    response = post_kit(owner_client, **fields)

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert words in " ".join(errors[field])
    assert not Kit.objects.exists()


def test_a_team_i_am_not_in_is_refused(owner_client, other_user):
    theirs = make_team("Elsewhere", other_user)

    response = post_kit(owner_client, team=theirs.pk)

    assert response.status_code == 400
    assert response.context["form"].errors["team"]


def test_a_picture_that_is_not_an_image_is_refused_and_nothing_is_saved(owner_client):
    fake = SimpleUploadedFile("logo.png", b"not a picture at all", content_type="image/png")

    response = owner_client.post(
        "/kits/new", {"name": "Broken", "model": catalog.VIP, "pictures": [fake]}
    )

    assert response.status_code == 400
    assert "logo.png" in " ".join(response.context["form"].errors["pictures"])
    assert not Kit.objects.exists()


def test_three_pictures_are_one_too_many(owner_client):
    response = owner_client.post(
        "/kits/new",
        {"name": "Crowded", "model": catalog.VIP, "pictures": [jpeg(), jpeg(), jpeg()]},
    )

    assert response.status_code == 400
    assert "at most 2" in " ".join(response.context["form"].errors["pictures"])


def test_deleting_a_kit_asks_first_then_removes_it(owner_client, owner):
    kit = make_kit(owner, "Going")

    assert "Delete kit" in owner_client.get(f"/kits/{kit.pk}/delete").content.decode()
    response = owner_client.post(f"/kits/{kit.pk}/delete")

    assert response.status_code == 302
    assert not Kit.objects.filter(pk=kit.pk).exists()


def test_an_outsider_cannot_reach_a_kit(other_client, owner):
    kit = make_kit(owner, pictures=1)

    assert other_client.get(f"/kits/{kit.pk}/").status_code == 404
    assert other_client.post(f"/kits/{kit.pk}/delete").status_code == 404
    assert other_client.get(f"/kits/{kit.pk}/pictures/1").status_code == 404
    assert Kit.objects.filter(pk=kit.pk).exists()


def test_a_picture_position_the_kit_lacks_is_a_404(owner_client, owner):
    kit = make_kit(owner, pictures=1)

    assert owner_client.get(f"/kits/{kit.pk}/pictures/1").status_code == 200
    assert owner_client.get(f"/kits/{kit.pk}/pictures/2").status_code == 404


@pytest.mark.parametrize("url", ["/kits/", "/kits/new", "/kits/{pk}/", "/kits/{pk}/delete"])
def test_other_methods_are_405(owner_client, owner, url):
    kit = make_kit(owner)

    assert owner_client.put(url.format(pk=kit.pk)).status_code == 405
