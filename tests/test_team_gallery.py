"""Team galleries: members see the images charged to their teams, read-only when the
image is someone else's."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from imagestudio.spend.models import Team
from imagestudio.studio.models import Generation, Status
from tests.factories import make_generation, make_team, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def design(owner, other_user):
    return make_team("Design", owner, other_user)


def make(user, team=None, status=Status.SUCCEEDED, prompt="a lighthouse") -> Generation:
    return make_generation(
        user,
        team=team,
        status=status,
        prompt=prompt,
        size="1280x720",
        with_files=status == Status.SUCCEEDED,
    )


def test_team_filter_shows_the_teams_images_with_owners(owner_client, other_user, design):
    theirs = make(other_user, design, prompt="their team picture")
    private = make(other_user, None, prompt="their private picture")
    html = owner_client.get("/gallery/", {"team": design.pk}).content.decode()
    assert "Team Design's images" in html
    assert f"/g/{theirs.pk}/" in html and f"/g/{private.pk}/" not in html
    assert "other" in html  # the owner's name on the tile
    # without the filter: only one's own images, as before
    assert f"/g/{theirs.pk}/" not in owner_client.get("/gallery/").content.decode()


def test_team_select_lists_my_teams_only(owner_client, design):
    make_team("Strangers")
    html = owner_client.get("/gallery/").content.decode()
    assert "Team Design</option>" in html and "Strangers" not in html


def test_not_a_member_gets_my_own_images(owner_client, other_user):
    elsewhere = make_team("Elsewhere", other_user)
    theirs = make(other_user, elsewhere)
    html = owner_client.get("/gallery/", {"team": elsewhere.pk}).content.decode()
    assert f"/g/{theirs.pk}/" not in html and "Your images" in html


def test_team_mate_can_view_but_not_change(owner_client, other_user, design):
    theirs = make(other_user, design, status=Status.FAILED)
    html = owner_client.get(f"/g/{theirs.pk}/").content.decode()
    assert "Owner" in html and "other" in html
    assert f"/g/{theirs.pk}/retry" not in html and f"/g/{theirs.pk}/delete" not in html
    assert owner_client.post(f"/g/{theirs.pk}/retry").status_code == 404
    assert owner_client.post(f"/g/{theirs.pk}/delete").status_code == 404
    queued = make(other_user, design, status=Status.QUEUED)
    assert f"/g/{queued.pk}/cancel" not in owner_client.get(f"/g/{queued.pk}/").content.decode()
    assert owner_client.post(f"/g/{queued.pk}/cancel").status_code == 404
    queued.refresh_from_db()
    theirs.refresh_from_db()
    assert queued.status == Status.QUEUED and theirs.deleted_at is None


def test_team_mate_can_open_the_files(owner_client, other_user, design):
    theirs = make(other_user, design)
    assert owner_client.get(f"/g/{theirs.pk}/thumb").status_code == 200
    assert owner_client.get(f"/g/{theirs.pk}/image").status_code == 200


def test_own_image_in_a_team_stays_changeable(owner_client, owner, design):
    mine = make(owner, design, status=Status.FAILED)
    html = owner_client.get(f"/g/{mine.pk}/").content.decode()
    assert f"/g/{mine.pk}/retry" in html and f"/g/{mine.pk}/delete" in html


def test_outsider_sees_nothing(client, owner, django_user_model, design):
    mine = make(owner, design)
    stranger = make_user("stranger")
    client.force_login(stranger)
    assert client.get(f"/g/{mine.pk}/").status_code == 404
    assert client.get(f"/g/{mine.pk}/thumb").status_code == 404


def test_team_page_queries_stay_constant(owner_client, other_user, design):
    for _ in range(3):
        make(other_user, design)
    owner_client.get("/gallery/", {"team": design.pk})  # warm-up: session, team list

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert owner_client.get("/gallery/", {"team": design.pk}).status_code == 200
        return len(ctx.captured_queries)

    few = count()
    for _ in range(20):
        make(other_user, design)
    assert count() == few == 4  # + the boards offered and the tiles' boards


def test_joining_a_team_shows_up_at_once(owner_client, owner):
    owner_client.get("/gallery/")
    team = Team.objects.create(name="Fresh")
    team.members.add(owner)
    assert "Team Fresh</option>" in owner_client.get("/gallery/").content.decode()


def test_poll_refreshes_team_mates_tiles_but_not_outsiders(client, owner, other_user, design):
    mine = make(owner, design, status=Status.RUNNING)
    mate = make(other_user, design, status=Status.SUCCEEDED)
    stranger = make_user("stranger")
    outside = make(stranger, None, status=Status.SUCCEEDED)
    client.force_login(owner)
    ids = f"{mine.pk}:queued,{mate.pk}:running,{outside.pk}:running"
    html = client.get("/poll", {"ids": ids}).content.decode()
    assert f'id="tile-{mine.pk}"' in html
    assert f'id="tile-{mate.pk}"' in html
    assert f'id="tile-{outside.pk}"' not in html
