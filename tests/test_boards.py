"""Boards and stars in the browser: the list and a board's page, create, rename, delete (its
creator or staff), add from a selection, remove, star, download, bulk delete; the gallery's
starred, board and order filters; queries constant at 10 and 500 images."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from imagestudio.campaigns.models import Board, BoardItem, Star
from imagestudio.studio.models import Generation
from tests.factories import make_board, make_finished, make_generations, make_star

pytestmark = pytest.mark.django_db


# --- the list of boards ------------------------------------------------------------------------
def test_the_list_shows_the_callers_and_their_teams_boards(owner_client, owner, teammate, team):
    make_board(owner, "Mine")
    make_board(teammate, "The team's", team=team)
    make_board(teammate, "Mate's own")
    html = owner_client.get("/boards/").content.decode()
    assert "Mine" in html and "The team&#x27;s" in html
    assert "Mate&#x27;s own" not in html


def test_creating_a_board_goes_to_its_page(owner_client, owner, team):
    response = owner_client.post("/boards/", {"name": "Summer sale 2027", "team": team.pk})
    board = Board.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("boards:detail", args=[board.pk])
    assert (board.name, board.team, board.created_by) == ("Summer sale 2027", team, owner)


@pytest.mark.parametrize(
    ("name", "words"), [("", "Give the board a name"), ("x" * 300, "at most 120")]
)
def test_a_bad_name_is_said_beside_the_field_and_kept(owner_client, name, words):
    response = owner_client.post("/boards/", {"name": name})
    assert response.status_code == 400
    html = response.content.decode()
    assert words in html
    assert 'aria-invalid="true"' in html
    assert not Board.objects.exists()


def test_a_team_one_is_not_in_is_refused(owner_client, other_user):
    from tests.factories import make_team

    strangers = make_team("Strangers", other_user)
    response = owner_client.post("/boards/", {"name": "x", "team": strangers.pk})
    assert response.status_code == 400
    assert "only with a team you belong to" in response.content.decode()


# --- one board ---------------------------------------------------------------------------------
def test_a_board_page_shows_its_images_with_the_viewer(owner_client, owner):
    images = make_generations(owner, 3)
    board = make_board(owner, items=images)
    html = owner_client.get(f"/boards/{board.pk}/").content.decode()
    for image in images:
        assert f'data-viewer="{image.pk}"' in html
    assert 'id="viewer"' in html
    assert "campaigns/viewer.js" in html


def test_a_board_page_leaves_out_images_the_caller_cannot_see(teammate_client, owner, team):
    shared = make_finished(owner, team=team)
    private = make_finished(owner)
    board = make_board(owner, team=team, items=[shared, private])
    html = teammate_client.get(f"/boards/{board.pk}/").content.decode()
    assert f'data-viewer="{shared.pk}"' in html
    assert f'data-viewer="{private.pk}"' not in html


def test_an_outsider_gets_404_for_every_board_url(client, other_user, owner):
    client.force_login(other_user)
    image = make_finished(owner)
    board = make_board(owner, items=[image])
    for method, url in [
        ("get", f"/boards/{board.pk}/"),
        ("post", f"/boards/{board.pk}/rename"),
        ("get", f"/boards/{board.pk}/delete"),
        ("get", f"/boards/{board.pk}/download"),
        ("post", f"/boards/{board.pk}/remove/{image.pk}"),
    ]:
        assert getattr(client, method)(url).status_code == 404, url


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("post", "/boards/{pk}/"),
        ("get", "/boards/{pk}/rename"),
        ("get", "/boards/add"),
        ("post", "/boards/{pk}/download"),
        ("get", "/g/{image}/star"),
        ("get", "/downloads"),
        ("get", "/g/bulk-delete"),
        ("put", "/boards/"),
    ],
)
def test_wrong_methods_are_405(owner_client, owner, method, url):
    image = make_finished(owner)
    board = make_board(owner, items=[image])
    target = url.format(pk=board.pk, image=image.pk)
    assert getattr(owner_client, method)(target).status_code == 405


def test_renaming_keeps_a_bad_name_out(owner_client, owner):
    board = make_board(owner, "Before")
    owner_client.post(f"/boards/{board.pk}/rename", {"name": "After"})
    board.refresh_from_db()
    assert board.name == "After"
    response = owner_client.post(
        f"/boards/{board.pk}/rename", {"name": ""}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 400
    assert "Give the board a name" in response.content.decode()
    board.refresh_from_db()
    assert board.name == "After"


def test_only_the_creator_deletes_a_team_board(teammate_client, owner_client, owner, team):
    image = make_finished(owner, team=team)
    board = make_board(owner, team=team, items=[image])
    refused = teammate_client.post(f"/boards/{board.pk}/delete")
    assert refused.status_code == 403
    assert "Only the board" in refused.content.decode()
    assert "Delete board" not in teammate_client.get(f"/boards/{board.pk}/").content.decode()
    assert owner_client.get(f"/boards/{board.pk}/delete").status_code == 200
    assert owner_client.post(f"/boards/{board.pk}/delete").status_code == 302
    assert not Board.objects.exists()
    assert Generation.objects.filter(pk=image.pk).exists()


def test_a_teammate_adds_and_removes_on_a_team_board(teammate_client, owner, team):
    image = make_finished(owner, team=team)
    board = make_board(owner, team=team)
    response = teammate_client.post(
        "/boards/add", {"ids": [image.pk], "board": board.pk}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert "Added 1" in response.content.decode()
    assert BoardItem.objects.get().added_by.username == "mate"
    removed = teammate_client.post(
        f"/boards/{board.pk}/remove/{image.pk}", headers={"HX-Request": "true"}
    )
    assert removed.status_code == 200 and removed.content == b""
    assert not BoardItem.objects.exists()


def test_adding_to_a_new_board_creates_it(owner_client, owner):
    images = make_generations(owner, 2)
    response = owner_client.post(
        "/boards/add", {"ids": [g.pk for g in images], "board": "", "new_name": "Picks"}
    )
    assert response.status_code == 302
    board = Board.objects.get(name="Picks")
    assert set(board.generations.values_list("pk", flat=True)) == {g.pk for g in images}


def test_adding_without_a_selection_or_board_says_so(owner_client, owner):
    image = make_finished(owner)
    hx = {"HX-Request": "true"}
    nothing = owner_client.post("/boards/add", {"board": "", "new_name": "x"}, headers=hx)
    assert nothing.status_code == 400
    assert "Select at least one image" in nothing.content.decode()
    no_board = owner_client.post("/boards/add", {"ids": image.pk}, headers=hx)
    assert no_board.status_code == 400
    assert "Choose a board" in no_board.content.decode()
    too_long = owner_client.post(
        "/boards/add", {"ids": image.pk, "new_name": "x" * 300}, headers=hx
    )
    assert "at most 120" in too_long.content.decode()


def test_an_outsiders_image_is_never_added(owner_client, owner, other_user):
    theirs = make_finished(other_user)
    board = make_board(owner)
    owner_client.post("/boards/add", {"ids": theirs.pk, "board": board.pk})
    assert not BoardItem.objects.exists()


# --- stars -------------------------------------------------------------------------------------
def test_starring_is_explicit_and_per_user(owner_client, teammate_client, owner, team):
    image = make_finished(owner, team=team)
    hx = {"HX-Request": "true"}
    on = owner_client.post(f"/g/{image.pk}/star", {"starred": "1"}, headers=hx)
    assert 'aria-pressed="true"' in on.content.decode()
    owner_client.post(f"/g/{image.pk}/star", {"starred": "1"}, headers=hx)  # a double click
    teammate_client.post(f"/g/{image.pk}/star", {"starred": "1"})
    assert Star.objects.count() == 2
    off = owner_client.post(f"/g/{image.pk}/star", {"starred": "0"}, headers=hx)
    assert 'aria-pressed="false"' in off.content.decode()
    assert list(Star.objects.values_list("user__username", flat=True)) == ["mate"]


def test_the_detail_page_offers_star_and_boards(owner_client, owner):
    image = make_finished(owner)
    board = make_board(owner, "Picks", items=[image])
    html = owner_client.get(f"/g/{image.pk}/").content.decode()
    assert f'action="/g/{image.pk}/star"' in html
    assert 'action="/boards/add"' in html
    assert f'href="/boards/{board.pk}/"' in html


# --- downloads and bulk delete -------------------------------------------------------------------
def test_a_board_downloads_as_a_zip(owner_client, owner):
    image = make_finished(owner, prompt="a red poster")
    board = make_board(owner, "Picks", items=[image])
    response = owner_client.get(f"/boards/{board.pk}/download")
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    rows = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode("utf-8-sig"))))
    assert rows[0]["file"] == f"{image.pk}-a-red-poster.jpg"
    assert rows[0]["board"] == "Picks"


def test_a_selection_downloads_and_an_empty_one_goes_back(owner_client, owner):
    image = make_finished(owner)
    response = owner_client.post("/downloads", {"ids": [image.pk]})
    assert response["Content-Type"] == "application/zip"
    assert owner_client.post("/downloads", {}).status_code == 302


def test_bulk_delete_deletes_only_ones_own(teammate_client, owner, teammate, team):
    theirs = make_finished(owner, team=team)
    mine = make_finished(teammate, team=team)
    response = teammate_client.post("/g/bulk-delete", {"ids": [theirs.pk, mine.pk]})
    assert response.status_code == 302
    assert Generation.objects.visible().filter(pk=theirs.pk).exists()
    assert not Generation.objects.visible().filter(pk=mine.pk).exists()


# --- the gallery's filters -----------------------------------------------------------------------
def shown(response) -> list[int]:
    import re

    return [int(pk) for pk in re.findall(r'data-viewer="(\d+)"', response.content.decode())]


def test_the_gallery_filters_starred_and_board_and_sorts_oldest_first(
    owner_client, owner, teammate, team
):
    a, b, c = make_generations(owner, 3)
    theirs = make_generations(teammate, 1, team=team)[0]
    make_star(owner, a)
    make_star(owner, theirs)
    board = make_board(teammate, team=team, items=[b, theirs])
    assert shown(owner_client.get("/gallery/")) == [c.pk, b.pk, a.pk]
    assert shown(owner_client.get("/gallery/", {"order": "oldest"})) == [a.pk, b.pk, c.pk]
    assert set(shown(owner_client.get("/gallery/", {"starred": "1"}))) == {a.pk, theirs.pk}
    assert set(shown(owner_client.get("/gallery/", {"board": board.pk}))) == {b.pk, theirs.pk}
    # A board the caller cannot see is no filter at all.
    hidden = make_board(teammate, "private", items=[theirs])
    assert shown(owner_client.get("/gallery/", {"board": hidden.pk})) == [c.pk, b.pk, a.pk]


def test_the_studio_strip_and_its_poll_mark_a_starred_image(owner_client, owner, other_user):
    # The viewer opened from the studio's tiles starts from the tile's mark: without it a
    # starred image opened unstarred there, and its badge never showed.
    starred, plain = make_finished(owner), make_finished(owner)
    make_star(owner, starred)
    make_star(other_user, plain)  # someone else's star is not the caller's
    page = owner_client.get("/").content.decode()
    polled = owner_client.get(
        "/poll", {"ids": f"{starred.pk}:running,{plain.pk}:running"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    for html in (page, polled):
        tile = html.split(f'id="tile-{starred.pk}"')[1].split("</article>")[0]
        other = html.split(f'id="tile-{plain.pk}"')[1].split("</article>")[0]
        assert 'data-viewer-starred="1"' in tile and "data-star-badge" in tile
        assert 'data-viewer-starred="0"' in other and "data-star-badge" not in other


def test_gallery_and_board_tiles_look_up_nothing_a_row_lacks(owner_client, owner, missing_lookups):
    images = [make_finished(owner) for _ in range(2)]
    board = make_board(owner, "spring", items=images)
    for page in ("/gallery/", "/gallery/?stack=on", f"/boards/{board.pk}/"):
        assert owner_client.get(page).status_code == 200
    assert missing_lookups == []


def test_the_gallery_marks_starred_tiles_and_offers_bulk_actions(owner_client, owner):
    image = make_finished(owner)
    make_star(owner, image)
    html = owner_client.get("/gallery/").content.decode()
    assert 'data-viewer-starred="1"' in html
    assert "data-star-badge" in html
    assert 'form="bulk"' in html
    assert 'formaction="/downloads"' in html
    assert 'formaction="/g/bulk-delete"' in html


def test_oldest_first_pages_on(owner_client, owner):
    rows = make_generations(owner, 30)
    first = owner_client.get("/gallery/", {"order": "oldest"})
    assert shown(first)[:24] == [g.pk for g in rows[:24]]
    import re

    more = re.search(r'href="(\?[^"]*cursor=[^"]+)"', first.content.decode()).group(1)
    second = owner_client.get("/gallery/" + more.replace("&amp;", "&"))
    assert shown(second) == [g.pk for g in rows[24:]]


# --- queries stay constant ------------------------------------------------------------------------
def _count(client, url: str, params: dict | None = None) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, params or {}).status_code == 200
    return len(captured.captured_queries)


def _grow(owner, board: Board, n: int) -> None:
    rows = make_generations(owner, n)
    Star.objects.bulk_create(Star(user=owner, generation=g) for g in rows[::2])
    BoardItem.objects.bulk_create(BoardItem(board=board, generation=g) for g in rows)
    other = make_board(owner, f"other {n}")
    BoardItem.objects.bulk_create(BoardItem(board=other, generation=g) for g in rows[::3])


def test_the_board_page_costs_the_same_queries_at_10_and_500(owner_client, owner):
    board = make_board(owner)
    _grow(owner, board, 10)
    url = f"/boards/{board.pk}/"
    owner_client.get(url)  # warm-up: session, team list
    at_10 = _count(owner_client, url)
    _grow(owner, board, 490)
    assert _count(owner_client, url) == at_10


@pytest.mark.parametrize("params", [{}, {"starred": "1"}, {"order": "oldest"}, "board"])
def test_the_gallery_with_stars_and_boards_is_constant_at_10_and_500(owner_client, owner, params):
    board = make_board(owner)
    query = {"board": board.pk} if params == "board" else params
    _grow(owner, board, 10)
    owner_client.get("/gallery/")
    at_10 = _count(owner_client, "/gallery/", query)
    _grow(owner, board, 490)
    assert _count(owner_client, "/gallery/", query) == at_10 <= 4


def test_the_boards_list_is_constant_too(owner_client, owner):
    for i in range(3):
        make_board(owner, f"b{i}", items=make_generations(owner, 2))
    owner_client.get("/boards/")
    few = _count(owner_client, "/boards/")
    for i in range(20):
        make_board(owner, f"c{i}", items=make_generations(owner, 2))
    assert _count(owner_client, "/boards/") == few


def test_an_image_edited_further_leads_to_its_newest_version_from_the_board(owner_client, owner):
    first = make_finished(owner)
    newer = make_finished(owner, parent=first, thread=first)
    board = make_board(owner, items=[first])
    html = owner_client.get(f"/boards/{board.pk}/").content.decode()
    assert f'href="/g/{newer.pk}/"' in html
    assert "Newest of 2 versions" in html
