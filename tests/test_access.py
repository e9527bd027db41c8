"""The access rule in the browser, endpoint by endpoint: owner, team-mate (same team),
outsider and staff. A team-mate may look and build on an image; only its owner (or
staff) changes it; an outsider gets 404 as if it did not exist."""

from __future__ import annotations

import pytest
from django.urls import reverse

from imagestudio.studio.models import Generation, Status
from tests.factories import make_finished, make_generation, make_input

pytestmark = pytest.mark.django_db


@pytest.fixture
def shared(owner, team):
    """The owner's finished edit, charged to the team the team-mate shares."""
    generation = make_finished(owner, team=team, prompt="poster " * 800)
    make_input(generation, position=1)
    return generation


READS = [
    ("studio:detail", ()),
    ("studio:image", ()),
    ("studio:thumb", ()),
    ("studio:input", (1,)),
]


@pytest.mark.parametrize(("name", "extra"), READS)
def test_a_team_mate_may_read_what_the_owner_reads(
    owner_client, teammate_client, shared, name, extra
):
    url = reverse(name, args=[shared.pk, *extra])
    assert owner_client.get(url).status_code == 200
    assert teammate_client.get(url).status_code == 200


@pytest.mark.parametrize(("name", "extra"), READS)
def test_an_outsider_gets_404_for_every_read(other_client, shared, name, extra):
    assert other_client.get(reverse(name, args=[shared.pk, *extra])).status_code == 404


@pytest.mark.parametrize(("name", "extra"), READS)
def test_staff_read_everyones_images(admin_client_, shared, name, extra):
    assert admin_client_.get(reverse(name, args=[shared.pk, *extra])).status_code == 200


@pytest.mark.parametrize("name", ["studio:retry", "studio:cancel", "studio:delete"])
def test_a_team_mate_cannot_change_the_image(teammate_client, shared, name):
    assert teammate_client.post(reverse(name, args=[shared.pk])).status_code == 404
    shared.refresh_from_db()
    assert shared.deleted_at is None and shared.status == Status.SUCCEEDED


def test_the_owner_may_delete_and_staff_too(owner_client, admin_client_, owner, shared):
    assert owner_client.post(reverse("studio:delete", args=[shared.pk])).status_code == 302
    other = make_finished(owner)
    assert admin_client_.post(reverse("studio:delete", args=[other.pk])).status_code == 302
    assert Generation.objects.visible().filter(pk__in=[shared.pk, other.pk]).count() == 0


def test_the_detail_page_shows_change_buttons_only_to_who_may_change(
    owner_client, teammate_client, owner, team
):
    failed = make_generation(
        owner,
        team=team,
        status=Status.FAILED,
        error_code="timeout",
        error_params={"tries": 1, "timeout": 300},
    )
    url = reverse("studio:detail", args=[failed.pk])
    assert "Delete…" in owner_client.get(url).content.decode()
    page = teammate_client.get(url).content.decode()
    assert "Delete…" not in page and ">Retry<" not in page


def test_a_team_mate_generates_again_from_a_long_prompt(teammate_client, shared):
    """The ?again= path carries the id of an image too long for the URL."""
    detail = teammate_client.get(reverse("studio:detail", args=[shared.pk])).content.decode()
    assert f"?again={shared.pk}" in detail
    page = teammate_client.get(reverse("studio:home"), {"again": shared.pk})
    assert page.status_code == 200
    assert "poster poster" in page.content.decode()


def test_an_outsider_cannot_generate_again_from_an_image_they_cannot_see(other_client, shared):
    assert other_client.get(reverse("studio:home"), {"again": shared.pk}).status_code == 404


def test_a_team_mate_branches_and_the_new_version_is_theirs(
    teammate_client, teammate, team, shared
):
    response = teammate_client.post(
        reverse("studio:iterate", args=[shared.pk]), {"prompt": "bluer"}
    )
    assert response.status_code == 302
    turn = Generation.objects.get(parent=shared)
    assert (turn.user, turn.team) == (teammate, team)


def test_the_picker_offers_team_images_but_not_outsiders(teammate_client, other_client, shared):
    thumb = reverse("studio:thumb", args=[shared.pk])
    assert thumb in teammate_client.get(reverse("studio:pick")).content.decode()
    assert thumb not in other_client.get(reverse("studio:pick")).content.decode()


def test_the_poll_refreshes_team_tiles_and_hides_outsiders(
    teammate_client, other_client, owner, team
):
    running = make_generation(owner, team=team, status=Status.RUNNING)
    query = {"ids": f"{running.pk}:queued"}
    assert f'id="tile-{running.pk}"' in (
        teammate_client.get(reverse("studio:poll"), query).content.decode()
    )
    assert f'id="tile-{running.pk}"' not in (
        other_client.get(reverse("studio:poll"), query).content.decode()
    )


def test_querysets_and_can_change_agree(owner, teammate, other_user, admin_user, shared):
    for user, sees, changes in [
        (owner, True, True),
        (teammate, True, False),
        (other_user, False, False),
        (admin_user, True, True),
    ]:
        assert Generation.objects.viewable_by(user).filter(pk=shared.pk).exists() is sees
        assert Generation.objects.changeable_by(user).filter(pk=shared.pk).exists() is changes
        assert shared.can_change(user) is changes
