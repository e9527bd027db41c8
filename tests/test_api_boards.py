"""/api/v1 for stars, boards and downloads: PATCH /generations/{id} {"starred"}, the list's
starred/board/batch/order filters, /boards (CRUD, items, download) and POST /downloads."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from PIL import Image

from imagestudio.campaigns.models import Board, BoardItem, Star
from tests.factories import (
    bearer,
    make_board,
    make_finished,
    make_generations,
    make_star,
    make_team,
    make_token,
)

pytestmark = pytest.mark.django_db
URL = "/api/v1"


class Api:
    def __init__(self, user) -> None:
        _token, raw = make_token(user)
        self.client, self.headers = Client(), bearer(raw)

    def get(self, url: str, query: dict | None = None):
        return self.client.get(URL + url, query or {}, headers=self.headers)

    def send(self, method: str, url: str, body: object | None = None):
        payload = json.dumps(body) if body is not None else ""
        return self.client.generic(
            method, URL + url, payload, content_type="application/json", headers=self.headers
        )


@pytest.fixture
def api(owner) -> Api:
    return Api(owner)


@pytest.fixture
def mate_api(teammate) -> Api:
    return Api(teammate)


def error(response) -> dict:
    return response.json()["error"]


# --- stars -----------------------------------------------------------------------------------
def test_patch_starred_stars_and_unstars_and_answers_with_g(api, owner):
    image = make_finished(owner)
    answer = api.send("PATCH", f"/generations/{image.pk}", {"starred": True})
    assert answer.status_code == 200
    assert answer.json()["starred"] is True
    assert Star.objects.filter(user=owner, generation=image).count() == 1
    again = api.send("PATCH", f"/generations/{image.pk}", {"starred": True})
    assert again.json()["starred"] is True
    assert Star.objects.count() == 1
    off = api.send("PATCH", f"/generations/{image.pk}", {"starred": False})
    assert off.json()["starred"] is False
    assert not Star.objects.exists()


def test_a_teammate_stars_for_themselves_only(mate_api, owner, teammate, team):
    image = make_finished(owner, team=team)
    assert mate_api.send("PATCH", f"/generations/{image.pk}", {"starred": True}).status_code == 200
    assert list(Star.objects.values_list("user", flat=True)) == [teammate.pk]


@pytest.mark.parametrize(
    "body", [{"starred": "yes"}, {"starred": 1}, {}, {"starred": True, "prompt": "x"}]
)
def test_a_bad_star_body_is_a_400_naming_the_field(api, owner, body):
    image = make_finished(owner)
    answer = api.send("PATCH", f"/generations/{image.pk}", body)
    assert answer.status_code == 400
    assert error(answer)["field"] in ("starred", "prompt")


def test_starring_an_outsiders_image_is_a_404(api, other_user):
    image = make_finished(other_user)
    assert api.send("PATCH", f"/generations/{image.pk}", {"starred": True}).status_code == 404


# --- the list's filters ------------------------------------------------------------------------
def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [g["id"] for g in response.json()["results"]]


def test_the_list_filters_starred_board_batch_and_sorts_oldest_first(api, owner, teammate, team):
    a, b, c = make_generations(owner, 3)
    theirs = make_generations(teammate, 1, team=team)[0]
    make_star(owner, b)
    make_star(owner, theirs)
    board = make_board(owner, team=team, items=[a, theirs])
    assert ids(api.get("/generations")) == [c.pk, b.pk, a.pk]
    assert ids(api.get("/generations", {"order": "oldest"})) == [a.pk, b.pk, c.pk]
    # Starred reaches a team-mate's image the caller starred.
    assert set(ids(api.get("/generations", {"starred": "true"}))) == {theirs.pk, b.pk}
    assert ids(api.get("/generations", {"starred": "false"})) == [c.pk, a.pk]
    assert set(ids(api.get("/generations", {"board": board.pk}))) == {a.pk, theirs.pk}
    assert ids(api.get("/generations", {"board": board.pk, "starred": "true"})) == [theirs.pk]
    assert ids(api.get("/generations", {"batch": a.batch_id})) == [c.pk, b.pk, a.pk]
    g = api.get("/generations", {"board": board.pk}).json()["results"]
    assert all(board.pk in row["boards"] for row in g)


def test_the_list_pages_oldest_first_with_its_filters_in_next(api, owner):
    rows = make_generations(owner, 60)
    first = api.get("/generations", {"order": "oldest"}).json()
    assert [g["id"] for g in first["results"]][:2] == [rows[0].pk, rows[1].pk]
    assert "order=oldest" in first["next"]
    second = Client().get(first["next"], headers=api.headers).json()
    assert [g["id"] for g in second["results"]] == [r.pk for r in rows[50:]]
    assert second["next"] is None


def test_a_board_or_batch_not_the_callers_is_a_404(api, other_user):
    board = make_board(other_user)
    image = make_generations(other_user, 1)[0]
    assert api.get("/generations", {"board": board.pk}).status_code == 404
    assert api.get("/generations", {"batch": image.batch_id}).status_code == 404


@pytest.mark.parametrize(
    "query", [{"starred": "maybe"}, {"board": "x"}, {"order": "random"}, {"batch": "1.5"}]
)
def test_a_bad_filter_is_a_400_naming_it(api, query):
    answer = api.get("/generations", query)
    assert answer.status_code == 400
    assert error(answer)["field"] == next(iter(query))


def test_the_list_with_stars_and_boards_costs_the_same_queries_for_10_and_500(api, owner):
    def count(query: dict) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert api.get("/generations", query).status_code == 200
        return len(captured.captured_queries)

    def grow(n: int) -> Board:
        rows = make_generations(owner, n)
        Star.objects.bulk_create(Star(user=owner, generation=g) for g in rows[::2])
        return make_board(owner, items=rows[::3])

    board = grow(10)
    api.get("/generations")  # warm-up
    few = [count({}), count({"starred": "true"}), count({"board": board.pk})]
    board = grow(490)
    assert [count({}), count({"starred": "true"}), count({"board": board.pk})] == few


# --- boards ------------------------------------------------------------------------------------
def test_create_list_get_patch_and_delete_a_board(api, owner, team):
    created = api.send("POST", "/boards", {"name": "Summer sale 2027", "team": team.pk})
    assert created.status_code == 201
    board = created.json()
    assert board["name"] == "Summer sale 2027"
    assert board["team"] == team.pk
    assert board["created_by"] == owner.pk
    assert board["count"] == 0
    assert {"id", "created_at"} <= board.keys()
    assert [b["id"] for b in api.get("/boards").json()["results"]] == [board["id"]]
    image = make_finished(owner)
    added = api.send("POST", f"/boards/{board['id']}/items", {"generations": [image.pk]})
    assert added.json()["added"] == 1
    assert added.json()["board"]["count"] == 1
    detail = api.get(f"/boards/{board['id']}").json()
    assert [g["id"] for g in detail["generations"]] == [image.pk]
    assert detail["generations"][0]["boards"] == [board["id"]]
    renamed = api.send("PATCH", f"/boards/{board['id']}", {"name": "Winter"})
    assert renamed.json()["name"] == "Winter"
    assert renamed.json()["team"] == team.pk  # absent: unchanged
    personal = api.send("PATCH", f"/boards/{board['id']}", {"team": None})
    assert personal.json()["team"] is None
    assert api.send("DELETE", f"/boards/{board['id']}").status_code == 204
    assert not Board.objects.exists()
    assert image.__class__.objects.filter(pk=image.pk).exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 300}, "name"),
        ({"name": 5}, "name"),
        ({}, "name"),
        ({"name": "ok", "team": 999999}, "team"),
        ({"name": "ok", "colour": "red"}, "colour"),
    ],
)
def test_a_bad_board_is_a_400_with_a_clear_message(api, body, field):
    answer = api.send("POST", "/boards", body)
    assert answer.status_code == 400
    assert error(answer)["field"] == field
    assert error(answer)["message"]
    assert not Board.objects.exists()


def test_a_300_character_name_says_the_limit(api):
    message = error(api.send("POST", "/boards", {"name": "x" * 300}))["message"]
    assert "120" in message and "300" in message


def test_a_team_board_is_shared_but_only_its_creator_deletes_it(mate_api, owner, team):
    image = make_finished(owner, team=team)
    board = make_board(owner, team=team)
    url = f"/boards/{board.pk}"
    assert mate_api.send("POST", f"{url}/items", {"generations": [image.pk]}).status_code == 200
    assert mate_api.send("DELETE", f"{url}/items/{image.pk}").status_code == 204
    assert not BoardItem.objects.exists()
    refused = mate_api.send("DELETE", url)
    assert refused.status_code == 403
    assert error(refused)["code"] == "forbidden"
    assert Board.objects.filter(pk=board.pk).exists()


def test_an_outsiders_board_is_a_404_everywhere(api, other_user):
    board = make_board(other_user)
    url = f"/boards/{board.pk}"
    assert api.get(url).status_code == 404
    assert api.send("PATCH", url, {"name": "x"}).status_code == 404
    assert api.send("DELETE", url).status_code == 404
    assert api.send("POST", f"{url}/items", {"generations": [1]}).status_code == 404
    assert api.get(f"{url}/download").status_code == 404
    assert api.get("/boards").json()["results"] == []


def test_only_images_the_caller_sees_are_added_and_counted(api, owner, other_user):
    mine = make_finished(owner)
    theirs = make_finished(other_user)
    board = make_board(owner)
    answer = api.send("POST", f"/boards/{board.pk}/items", {"generations": [mine.pk, theirs.pk]})
    assert answer.json()["added"] == 1
    again = api.send("POST", f"/boards/{board.pk}/items", {"generations": [mine.pk]})
    assert again.json()["added"] == 0


def test_removing_an_image_not_on_the_board_is_a_404(api, owner):
    image = make_finished(owner)
    board = make_board(owner)
    assert api.send("DELETE", f"/boards/{board.pk}/items/{image.pk}").status_code == 404


def test_an_image_can_be_on_many_boards(api, owner):
    image = make_finished(owner)
    one, two = make_board(owner, "One"), make_board(owner, "Two")
    for board in (one, two):
        api.send("POST", f"/boards/{board.pk}/items", {"generations": [image.pk]})
    assert api.get(f"/generations/{image.pk}").json()["boards"] == [one.pk, two.pk]


def test_board_detail_queries_stay_constant(api, owner):
    def count(board: Board) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert api.get(f"/boards/{board.pk}").status_code == 200
        return len(captured.captured_queries)

    small = make_board(owner, "small", items=make_generations(owner, 10))
    api.get(f"/boards/{small.pk}")
    few = count(small)
    large = make_board(owner, "large", items=make_generations(owner, 500))
    assert count(large) == few


# --- downloads -------------------------------------------------------------------------------
def unzip(response) -> tuple[zipfile.ZipFile, list[dict[str, str]]]:
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    text = archive.read("manifest.csv").decode("utf-8-sig")
    return archive, list(csv.DictReader(io.StringIO(text)))


def test_a_board_downloads_as_a_zip_with_its_manifest(api, owner):
    images = [make_finished(owner, prompt=p) for p in ("红色海报", "blue poster")]
    make_star(owner, images[0])
    board = make_board(owner, "夏季 2027", items=images)
    response = api.get(f"/boards/{board.pk}/download")
    assert "filename*=utf-8''" in response["Content-Disposition"]
    archive, rows = unzip(response)
    assert {row["board"] for row in rows} == {"夏季 2027"}
    assert {row["id"]: row["starred"] for row in rows} == {
        str(images[0].pk): "true",
        str(images[1].pk): "false",
    }
    for row in rows:
        Image.open(io.BytesIO(archive.read(row["file"]))).verify()


def test_a_selection_downloads_only_what_the_caller_sees(api, owner, other_user):
    mine = make_finished(owner)
    theirs = make_finished(other_user)
    _archive, rows = unzip(api.send("POST", "/downloads", {"generations": [mine.pk, theirs.pk]}))
    assert [row["id"] for row in rows] == [str(mine.pk)]


def test_a_selection_of_nothing_visible_is_a_404_and_bad_bodies_a_400(api, other_user):
    theirs = make_finished(other_user)
    assert api.send("POST", "/downloads", {"generations": [theirs.pk]}).status_code == 404
    assert api.send("POST", "/downloads", {"generations": "1,2"}).status_code == 400
    assert api.send("POST", "/downloads", {}).status_code == 400


def test_only_the_creator_or_staff_change_a_boards_team(mate_api, api, owner, teammate, team):
    board = make_board(owner, team=team)
    second = make_team("Second", owner, teammate)

    for body in ({"team": None}, {"team": second.pk}):
        refused = mate_api.send("PATCH", f"/boards/{board.pk}", body)
        assert refused.status_code == 400, body
        assert refused.json()["error"]["field"] == "team"
    board.refresh_from_db()
    assert board.team_id == team.pk

    # The answer after an allowed change is the board, wherever it now is.
    moved = api.send("PATCH", f"/boards/{board.pk}", {"team": None})
    assert (moved.status_code, moved.json()["id"], moved.json()["team"]) == (200, board.pk, None)
    renamed = mate_api.send("PATCH", f"/boards/{board.pk}", {"name": "Still mine"})
    assert renamed.status_code == 404  # personal now: the team-mate no longer sees it
