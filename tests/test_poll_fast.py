"""The poll of an unchanged page (studio.changes, UnchangedPollMiddleware): an empty 204 with
no query, no template and no session write; anything that changed goes to the view, which
shows it within that one poll; a team-mate's view follows the same rules."""

from __future__ import annotations

import html as html_lib
import re
import time
from unittest import mock
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.sessions.backends.base import SessionBase
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from imagestudio.studio import changes
from imagestudio.studio.models import Generation, Status
from imagestudio.upstream.types import FailureCode
from tests.factories import bearer, make_generation, make_star, make_team, make_token

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


def poller_url(html: str) -> str:
    match = re.search(r'<div id="poller"[^>]*hx-get="([^"]+)"', html)
    assert match, "no active poller on the page"
    return html_lib.unescape(match.group(1))


def poll(client: Client, url: str, *rows: Generation, statuses: dict | None = None):
    """What htmx sends: the poller's URL plus each pending tile's input ("12:running")."""
    statuses = statuses or {}
    ids = [f"{g.pk}:{statuses.get(g.pk, g.status)}" for g in rows]
    separator = "&" if "?" in url else "?"
    query = "&".join(f"ids={value}" for value in ids)
    return client.get(f"{url}{separator}{query}", **HX)


@pytest.fixture
def running(owner):
    return make_generation(owner, status=Status.RUNNING)


@pytest.fixture
def studio_url(owner_client, running) -> str:
    url = poller_url(owner_client.get("/").content.decode())
    assert "v=" in url
    return url


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """The test's transaction never commits: run the after-commit bumps as a commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def failed_tile(g: Generation) -> str:
    return f'<article class="tile tile--failed" id="tile-{g.pk}" hx-swap-oob="true">'


def _fail(g: Generation) -> None:
    g.finish_failed(None, code=FailureCode.SATURATED)


# --- unchanged: the middleware's 204 ----------------------------------------------------------
def test_an_unchanged_studio_poll_is_a_204_without_query_template_or_session_write(
    owner_client, running, studio_url
):
    with (
        CaptureQueriesContext(connection) as queries,
        mock.patch.object(SessionBase, "save", autospec=True) as saved,
        mock.patch.object(SessionBase, "load", autospec=True) as loaded,
    ):
        response = poll(owner_client, studio_url, running)
    assert response.status_code == 204
    assert response.content == b""
    assert len(queries) == 0
    assert response.templates == []
    saved.assert_not_called()
    # The session is read with the counters in one cache read, not through the store.
    loaded.assert_not_called()


def test_a_finished_tile_shows_on_the_very_next_poll(owner_client, running, studio_url, committed):
    assert poll(owner_client, studio_url, running).status_code == 204
    with committed():
        _fail(running)
    response = poll(owner_client, studio_url, running, statuses={running.pk: "running"})
    # Nothing else is pending: the last tile comes with the 286 that stops the poller.
    assert response.status_code == 286
    assert failed_tile(running) in response.content.decode()


def test_a_claimed_tile_is_redrawn_and_the_next_token_is_quiet_again(
    owner_client, owner, committed
):
    queued = make_generation(owner, status=Status.QUEUED)
    url = poller_url(owner_client.get("/").content.decode())
    with committed():
        assert Generation.claim(queued.pk)
    response = poll(owner_client, url, queued, statuses={queued.pk: "queued"})
    assert response.status_code == 200
    html = response.content.decode()
    assert f'value="{queued.pk}:running" data-poll-id' in html
    queued.refresh_from_db()
    assert poll(owner_client, poller_url(html), queued).status_code == 204


def test_nothing_pending_still_stops_with_286(owner_client, owner):
    done = make_generation(owner, status=Status.CANCELED)
    response = owner_client.get(f"/poll?ids={done.pk}:queued", **HX)
    assert response.status_code == 286
    assert 'id="poller"' not in response.content.decode()


def test_a_poll_without_ids_is_never_answered_by_the_token(owner_client, studio_url):
    assert owner_client.get(studio_url, **HX).status_code == 286


# --- what the token does not vouch for ------------------------------------------------------------
def test_a_changed_set_of_tiles_goes_to_the_view(owner_client, owner, running, studio_url):
    another = make_generation(owner, status=Status.RUNNING)
    response = poll(owner_client, studio_url, running, another)
    assert response.status_code == 200
    assert "v=" in poller_url(response.content.decode())


def test_a_token_is_its_users_only(owner_client, other_client, other_user, running, studio_url):
    theirs = make_generation(other_user, status=Status.RUNNING)
    response = other_client.get(f"{studio_url}&ids={running.pk}:running", **HX)
    # Through the view: the other user's poll ignores a tile that is not theirs.
    assert response.status_code == 286
    assert "tile-" not in response.content.decode()
    assert theirs.pk != running.pk


def test_a_tampered_or_moved_token_goes_to_the_view(owner_client, running, studio_url):
    token = parse_qs(urlsplit(studio_url).query)["v"][0]
    user, issued, digest, rest = token.split(".", 3)
    forged = ".".join([user, issued, digest, rest.replace(":", ":1", 1)])
    assert poll(owner_client, f"/poll?v={forged}", running).status_code == 200
    batch_path = f"/batches/{running.batch_id}/poll"
    assert poll(owner_client, f"{batch_path}?v={token}", running).status_code == 200


def test_an_old_token_goes_to_the_view(owner_client, running, studio_url):
    later = time.time() + changes.TOKEN_SECONDS + 1
    with mock.patch("imagestudio.studio.changes.time.time", return_value=later):
        assert poll(owner_client, studio_url, running).status_code == 200


def test_a_signed_out_session_is_not_answered(owner_client, running, studio_url):
    owner_client.post("/accounts/logout/")
    response = poll(owner_client, studio_url, running)
    assert response.status_code in (302, 200)
    assert response.status_code != 204


def test_saving_the_user_retires_their_tokens(owner_client, owner, running, studio_url, committed):
    with committed():
        owner.set_password("a brand new password 42")
        owner.save()
    response = poll(owner_client, studio_url, running)
    # The ordinary path: the session's password hash is stale, so the user is signed out.
    assert response.status_code != 204
    assert response.headers.get("HX-Redirect", "").startswith("/accounts/login/")


# --- team-mates -----------------------------------------------------------------------------
def test_a_team_mate_on_the_batch_page_sees_the_tile_finish(
    owner, teammate, teammate_client, team, committed
):
    rows = [make_generation(owner, team=team, status=Status.RUNNING)]
    batch = rows[0].batch
    rows.append(make_generation(owner, team=team, status=Status.RUNNING, batch=batch))
    page = teammate_client.get(f"/batches/{batch.pk}/").content.decode()
    url = poller_url(page)
    assert "v=" in url
    assert poll(teammate_client, url, *rows).status_code == 204
    with committed():
        _fail(rows[0])
    response = poll(teammate_client, url, *rows, statuses={rows[0].pk: "running"})
    assert response.status_code == 200
    html = response.content.decode()
    assert failed_tile(rows[0]) in html
    assert poll(teammate_client, poller_url(html), rows[1]).status_code == 204


def test_leaving_the_team_retires_a_team_batch_pages_token(
    owner, teammate, teammate_client, team, committed
):
    g = make_generation(owner, team=team, status=Status.RUNNING)
    url = poller_url(teammate_client.get(f"/batches/{g.batch_id}/").content.decode())
    assert poll(teammate_client, url, g).status_code == 204
    with committed():
        team.memberships.filter(user=teammate).delete()
    assert poll(teammate_client, url, g).status_code == 404


def test_a_team_mates_tile_on_the_studio_poll_is_always_checked_and_shown_finished(
    owner_client, owner, teammate, team, committed
):
    theirs = make_generation(teammate, team=team, status=Status.RUNNING)
    first = owner_client.get(f"/poll?ids={theirs.pk}:running", **HX)
    # No token: the owner's counter says nothing about a team-mate's image.
    assert poller_url(first.content.decode()) == "/poll"
    with committed():
        _fail(theirs)
    response = owner_client.get(f"/poll?ids={theirs.pk}:running", **HX)
    assert response.status_code == 286
    assert failed_tile(theirs) in response.content.decode()


def test_a_team_mates_studio_token_does_not_cover_my_tiles(owner, teammate, teammate_client):
    make_team("Design", owner, teammate)
    mine = make_generation(owner, status=Status.RUNNING)
    response = teammate_client.get(f"/poll?ids={mine.pk}:running", **HX)
    # Not charged to the team: the team-mate may not see it at all.
    assert response.status_code == 286
    assert "tile-" not in response.content.decode()


# --- the API's GET /generations/{id} -----------------------------------------------------------
def test_an_unchanged_pending_generation_is_a_304_without_query_for_a_session(
    owner_client, running
):
    url = f"/api/v1/generations/{running.pk}"
    first = owner_client.get(url)
    assert first.status_code == 200 and first.json()["status"] == "running"
    with (
        CaptureQueriesContext(connection) as queries,
        mock.patch.object(SessionBase, "save", autospec=True) as saved,
    ):
        again = owner_client.get(url, headers={"If-None-Match": first["ETag"]})
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == first["ETag"]
    assert len(queries) == 0
    saved.assert_not_called()


def test_an_unchanged_pending_generation_is_a_304_without_query_for_a_token(client, owner, running):
    _token, raw = make_token(owner)
    auth = bearer(raw)
    url = f"/api/v1/generations/{running.pk}"
    first = client.get(url, headers=auth)
    with CaptureQueriesContext(connection) as queries:
        again = client.get(url, headers={**auth, "If-None-Match": f"W/{first['ETag']}"})
    assert again.status_code == 304
    assert len(queries) == 0


def test_a_changed_generation_answers_in_full_with_a_new_etag(owner_client, running, committed):
    url = f"/api/v1/generations/{running.pk}"
    first = owner_client.get(url)
    with committed():
        _fail(running)
    again = owner_client.get(url, headers={"If-None-Match": first["ETag"]})
    assert again.status_code == 200
    assert again.json()["status"] == "failed"
    # Final: no ETag, nothing more to wait for.
    assert not again.has_header("ETag")


def test_a_star_changes_the_answer(owner_client, owner, running, committed):
    url = f"/api/v1/generations/{running.pk}"
    first = owner_client.get(url)
    with committed():
        make_star(owner, running)
    again = owner_client.get(url, headers={"If-None-Match": first["ETag"]})
    assert again.status_code == 200 and again.json()["starred"] is True


def test_a_revoked_token_gets_no_304(client, owner, running):
    token, raw = make_token(owner)
    url = f"/api/v1/generations/{running.pk}"
    first = client.get(url, headers=bearer(raw))
    token.delete()
    again = client.get(url, headers={**bearer(raw), "If-None-Match": first["ETag"]})
    assert again.status_code == 401


def test_another_callers_etag_is_not_answered_for_them(owner_client, other_client, running):
    url = f"/api/v1/generations/{running.pk}"
    etag = owner_client.get(url)["ETag"]
    assert other_client.get(url, headers={"If-None-Match": etag}).status_code == 404


def test_a_team_mates_pending_generation_has_no_etag(teammate_client, owner, team):
    theirs = make_generation(owner, team=team, status=Status.RUNNING)
    response = teammate_client.get(f"/api/v1/generations/{theirs.pk}")
    assert response.status_code == 200
    assert not response.has_header("ETag")


# --- the ordinary path writes no session either ---------------------------------------------------
def test_a_poll_that_draws_tiles_and_an_api_get_write_no_session(owner_client, running):
    with mock.patch.object(SessionBase, "save", autospec=True) as saved:
        drawn = owner_client.get(f"/poll?ids={running.pk}:queued", **HX)
        api = owner_client.get(f"/api/v1/generations/{running.pk}")
    assert drawn.status_code == 200 and f'id="tile-{running.pk}"' in drawn.content.decode()
    assert api.status_code == 200
    saved.assert_not_called()
