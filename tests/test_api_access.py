"""The API follows the browser's access rule (Generation.objects.viewable_by / can_change)
on every endpoint: the owner and staff may do everything, a team-mate may look, download,
iterate and use the image as an edit source (the new image is their own), and gets 403 on
DELETE; an outsider gets 404 everywhere."""

from __future__ import annotations

import pytest

from imagestudio import catalog
from imagestudio.studio.models import Generation, Status
from tests.factories import make_finished, make_input, make_team, picture_bytes
from tests.test_api_edits import post_edit
from tests.test_api_generations import Api

pytestmark = pytest.mark.django_db
URL = "/api/v1/generations"


@pytest.fixture
def shared(owner, team) -> Generation:
    """The owner's finished edit, charged to the team the team-mate is in."""
    row = make_finished(owner, team=team)
    make_input(row, 1)
    return row


@pytest.fixture
def callers(owner, teammate, other_user, admin_user) -> dict[str, Api]:
    return {
        "owner": Api(owner),
        "teammate": Api(teammate),
        "outsider": Api(other_user),
        "staff": Api(admin_user),
    }


READERS = {"owner": 200, "teammate": 200, "outsider": 404, "staff": 200}


@pytest.mark.parametrize("who", list(READERS))
@pytest.mark.parametrize("suffix", ["", "/image", "/thumbnail", "/inputs/1"])
def test_reading_a_team_image_and_its_files_follows_viewable_by(callers, shared, who, suffix):
    response = callers[who].get(f"{URL}/{shared.pk}{suffix}")
    assert response.status_code == READERS[who]
    if READERS[who] == 404:
        assert response.json()["error"]["code"] == "not_found"


def test_a_missing_input_position_is_404(callers, shared):
    response = callers["teammate"].get(f"{URL}/{shared.pk}/inputs/2")
    assert response.status_code == 404
    assert "image2" in response.json()["error"]["message"]


def test_the_file_endpoints_take_only_get(callers, shared):
    for suffix in ("/image", "/thumbnail", "/inputs/1"):
        response = callers["owner"].delete(f"{URL}/{shared.pk}{suffix}")
        assert response.status_code == 405 and response["Allow"] == "GET"


def test_a_team_mate_may_not_delete_and_is_told_why(callers, shared):
    response = callers["teammate"].delete(f"{URL}/{shared.pk}")
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "forbidden" and "team-mate" in error["message"]
    shared.refresh_from_db()
    assert shared.deleted_at is None


def test_an_outsider_deleting_gets_404_and_staff_may_delete(callers, shared):
    assert callers["outsider"].delete(f"{URL}/{shared.pk}").status_code == 404
    assert callers["staff"].delete(f"{URL}/{shared.pk}").status_code == 204


@pytest.mark.parametrize(("who", "status"), [("teammate", 202), ("staff", 202), ("outsider", 404)])
def test_iterating_on_a_team_image_makes_the_callers_own_version(
    callers, shared, teammate, admin_user, team, who, status
):
    response = callers[who].post(f"{URL}/{shared.pk}/iterate", {"prompt": "make it blue"})
    assert response.status_code == status, response.content
    if status == 202:
        (turn,) = response.json()["generations"]
        row = Generation.objects.get(pk=turn["id"])
        assert row.user == (teammate if who == "teammate" else admin_user)
        assert turn["parents"] == [shared.pk]
    if who == "teammate":
        # Charged as the browser charges a turn: to the parent's team, which they are in.
        assert row.team == team


@pytest.mark.parametrize(("who", "status"), [("teammate", 202), ("outsider", 400)])
def test_a_team_image_is_an_edit_source_for_team_mates_only(callers, shared, teammate, who, status):
    response = post_edit(
        callers[who],
        [("model", catalog.ALL), ("prompt", "put it on a mug"), ("image1", str(shared.pk))],
    )
    assert response.status_code == status, response.content
    if status == 202:
        (g,) = response.json()["generations"]
        row = Generation.objects.get(pk=g["id"])
        assert row.user == teammate and g["inputs"][0]["source"] == shared.pk
    else:
        assert response.json()["error"]["field"] == "image1"


def test_a_team_image_that_has_not_finished_is_409_to_iterate(callers, shared):
    Generation.objects.filter(pk=shared.pk).update(status=Status.RUNNING)
    response = callers["teammate"].post(f"{URL}/{shared.pk}/iterate", {"prompt": "x"})
    assert response.status_code == 409


def test_the_list_stays_the_callers_own(callers, shared):
    assert callers["teammate"].get(URL).json()["results"] == []
    assert [g["id"] for g in callers["owner"].get(URL).json()["results"]] == [shared.pk]


@pytest.mark.parametrize(
    ("path", "body"),
    [("/edits", None), (f"{URL}/1/iterate", {"prompt": "x"}), (URL, {"prompt": "x"})],
)
def test_every_submit_takes_team_and_override_budget(callers, owner, path, body):
    # A non-staff override is refused by spend.charging, on all three.
    api = callers["owner"]
    if body is None:
        response = post_edit(
            api,
            [
                ("model", catalog.ALL),
                ("prompt", "x"),
                ("image1", ("a.jpg", picture_bytes())),
                ("override_budget", "true"),
            ],
        )
    else:
        root = make_finished(owner)
        path = path.replace("/1/", f"/{root.pk}/")
        response = api.post(path, {**body, "model": catalog.ALL, "override_budget": True})
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "override_budget"


def test_a_team_the_caller_is_not_in_is_refused_on_edits_and_iterate(callers, shared, other_user):
    theirs = make_team("Theirs", other_user)
    response = callers["teammate"].post(
        f"{URL}/{shared.pk}/iterate", {"prompt": "x", "team": theirs.pk}
    )
    assert response.status_code == 400 and response.json()["error"]["field"] == "team"
    response = post_edit(
        callers["teammate"],
        [
            ("model", catalog.ALL),
            ("prompt", "x"),
            ("image1", str(shared.pk)),
            ("team", str(theirs.pk)),
        ],
    )
    assert response.status_code == 400 and response.json()["error"]["field"] == "team"
