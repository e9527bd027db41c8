"""Counts and covers show only what the viewer may see: the boards list (count and cover),
a batch's page and the API's batch (another user's retry into your batch is theirs)."""

from __future__ import annotations

import pytest
from django.test import Client

from imagestudio.studio.models import Status
from tests.factories import bearer, make_board, make_finished, make_generation, make_token

pytestmark = pytest.mark.django_db


def test_the_boards_list_counts_and_covers_only_what_you_may_see(
    owner_client, owner, teammate, team
):
    shared = make_finished(owner, team=team)
    private = make_finished(teammate)  # the team-mate's own image, outside the team
    board = make_board(owner, team=team, items=[shared])
    board.add([private.pk], teammate)

    page = owner_client.get("/boards/").content.decode()

    assert board.items.count() == 2
    assert f"/g/{private.pk}/thumb" not in page
    assert f"/g/{shared.pk}/thumb" in page
    assert "1 image" in page and "2 images" not in page


def test_a_batch_shows_its_owner_only_what_they_may_see(owner_client, owner, admin_user):
    mine = make_generation(owner, status=Status.FAILED)
    # Staff retried it into the owner's batch: the retry is staff's own image.
    theirs = make_generation(admin_user, batch=mine.batch, status=Status.QUEUED)

    page = owner_client.get(f"/batches/{mine.batch_id}/").content.decode()
    _token, raw = make_token(owner)
    data = Client(headers=bearer(raw)).get(f"/api/v1/batches/{mine.batch_id}").json()

    assert data["total"] == 1
    assert [g["id"] for g in data["generations"]] == [mine.pk]
    assert f"/g/{mine.pk}/" in page and f"/g/{theirs.pk}/" not in page
