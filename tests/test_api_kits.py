"""/api/v1/presets and /api/v1/kits: the kit pages' rules in JSON."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from imagestudio import catalog
from imagestudio.campaigns.models import Kit
from tests.factories import bearer, make_kit, make_team, make_token, picture_bytes

pytestmark = pytest.mark.django_db


class Api:
    def __init__(self, user) -> None:
        _token, raw = make_token(user)
        self.client, self.headers = Client(), bearer(raw)

    def get(self, url: str, **headers):
        return self.client.get(url, headers={**self.headers, **headers})

    def post(self, url: str, body: dict):
        return self.client.post(
            url, json.dumps(body), content_type="application/json", headers=self.headers
        )

    def post_form(self, url: str, data: dict):
        return self.client.post(url, data, headers=self.headers)

    def patch(self, url: str, body: dict | str):
        payload = body if isinstance(body, str) else json.dumps(body)
        return self.client.patch(
            url, payload, content_type="application/json", headers=self.headers
        )

    def delete(self, url: str):
        return self.client.delete(url, headers=self.headers)


@pytest.fixture
def api(owner) -> Api:
    return Api(owner)


def test_presets_lists_every_built_in_with_its_model_and_size(api):
    results = api.get("/api/v1/presets").json()["results"]

    assert [p["key"] for p in results] == [p.key for p in catalog.PRESETS]
    poster = results[0]
    assert poster == {
        "key": "poster",
        "label": "Poster (2:3)",
        "model": catalog.VIP,
        "size": catalog.PRESETS_BY_KEY["poster"].size,
        "for": "Print and in-store posters",
    }
    assert results[-1]["size"] == "竖屏 9:16"


def test_a_kit_is_created_from_json_with_a_preset(api, owner, team):
    response = api.post(
        "/api/v1/kits",
        {
            "name": "Summer",
            "team": team.pk,
            "preset": "story",
            "style": "pastel",
            "template": "{x}",
        },
    )

    assert response.status_code == 201
    data = response.json()
    story = catalog.PRESETS_BY_KEY["story"]
    assert (data["team"], data["created_by"], data["preset"]) == (team.pk, owner.pk, "story")
    assert (data["model"], data["size"], data["style"]) == (story.model, story.size, "pastel")
    assert data["pictures"] == []
    assert Kit.objects.get().name == "Summer"


def test_a_kit_is_created_from_multipart_with_its_pictures(api):
    logo = picture_bytes("PNG", size=(40, 40))

    response = api.post_form(
        "/api/v1/kits",
        {
            "name": "Logo kit",
            "model": catalog.ALL,
            "size": "横版 16:9",
            "image": [SimpleUploadedFile("logo.png", logo, content_type="image/png")],
        },
    )

    assert response.status_code == 201, response.content
    picture = response.json()["pictures"][0]
    assert (picture["position"], picture["original_name"]) == (1, "logo.png")
    fetched = api.get(picture["url"].removeprefix("http://testserver"))
    assert fetched.status_code == 200
    assert fetched["Content-Type"].startswith("image/")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 300}, "name"),
        ({"name": "K", "preset": "billboard"}, "preset"),
        ({"name": "K", "template": "Poster {unclosed"}, "template"),
        ({"name": "K", "model": catalog.VIP, "size": "13x13"}, "size"),
        ({"name": "K", "colour": "red"}, "colour"),
        ({"name": 7}, "name"),
    ],
)
def test_bad_kits_are_a_400_naming_the_field(api, body, field):
    response = api.post("/api/v1/kits", body)

    assert response.status_code == 400
    assert response.json()["error"]["field"] == field
    assert not Kit.objects.exists()


def test_a_team_the_caller_is_not_in_is_refused(api, other_user):
    theirs = make_team("Elsewhere", other_user)

    response = api.post("/api/v1/kits", {"name": "K", "team": theirs.pk})

    assert response.status_code == 400
    assert response.json()["error"]["field"] == "team"


def test_a_team_mate_patches_the_teams_kit_and_absent_fields_stay(teammate, owner, team):
    kit = make_kit(owner, "Old", team=team, style="flat", template="{product}")

    response = Api(teammate).patch(f"/api/v1/kits/{kit.pk}", {"name": "New"})

    assert response.status_code == 200
    data = response.json()
    assert (data["name"], data["style"], data["template"], data["team"]) == (
        "New",
        "flat",
        "{product}",
        team.pk,
    )


def test_choosing_a_size_by_hand_forgets_the_preset(api, owner):
    kit = make_kit(owner, preset="poster", size=catalog.PRESETS_BY_KEY["poster"].size)

    data = api.patch(f"/api/v1/kits/{kit.pk}", {"size": "2048x2048"}).json()

    assert (data["size"], data["preset"]) == ("2048x2048", "")


def test_the_list_holds_own_and_team_kits_only(api, owner, other_user, team):
    mine = make_kit(owner, "Mine")
    teams = make_kit(other_user, "Team's", team=team)
    make_kit(other_user, "Theirs")

    results = api.get("/api/v1/kits").json()["results"]

    assert sorted(k["id"] for k in results) == sorted([mine.pk, teams.pk])


def test_an_outsiders_kit_is_a_404_and_stays(owner, other_user):
    kit = make_kit(owner, pictures=1)
    outsider = Api(other_user)

    for response in (
        outsider.get(f"/api/v1/kits/{kit.pk}"),
        outsider.patch(f"/api/v1/kits/{kit.pk}", {"name": "Mine now"}),
        outsider.delete(f"/api/v1/kits/{kit.pk}"),
        outsider.get(f"/api/v1/kits/{kit.pk}/pictures/1"),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    assert Kit.objects.get(pk=kit.pk).name == kit.name


def test_deleting_a_kit_is_a_204(api, owner):
    kit = make_kit(owner)

    assert api.delete(f"/api/v1/kits/{kit.pk}").status_code == 204
    assert not Kit.objects.exists()


def test_other_methods_are_a_405_json(api, owner):
    kit = make_kit(owner)

    response = api.client.put(f"/api/v1/kits/{kit.pk}", "{}", headers=api.headers)

    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_only_the_creator_or_staff_change_a_kits_team(teammate, owner, team, admin_user):
    kit = make_kit(owner, "Shared", team=team)
    second = make_team("Second", owner, teammate)

    for body in ({"team": None}, {"team": second.pk}):
        refused = Api(teammate).patch(f"/api/v1/kits/{kit.pk}", body)
        assert refused.status_code == 400
        assert refused.json()["error"]["field"] == "team"
    kit.refresh_from_db()
    assert kit.team_id == team.pk

    moved = Api(owner).patch(f"/api/v1/kits/{kit.pk}", {"team": None})
    assert (moved.status_code, moved.json()["team"]) == (200, None)
    staff = Api(admin_user).patch(f"/api/v1/kits/{kit.pk}", {"team": second.pk})
    assert (staff.status_code, staff.json()["team"]) == (200, second.pk)
