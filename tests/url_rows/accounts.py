"""URL permission rows for company sign-in and the people pages (see
tests/test_url_permissions.py). Without an OpenID provider configured (as in that test),
the provider's two routes do not exist for anyone. The people pages are staff's: a change
sent empty is a 400 (the form again, or "choose a change") for staff, 403 for anyone else."""

from __future__ import annotations

from tests.permissions import LOGIN, Try, public, staff_page

STAFF_EMPTY_POST = (LOGIN, 403, 403, 403, 400)


def _owner(r: dict) -> dict:
    return {"pk": r["image"].user_id}


def _team(r: dict) -> dict:
    return {"pk": r["image"].team_id}


ROWS: dict[str, list[Try]] = {
    "oidc:start": [public(404)],
    "oidc:callback": [public(404)],
    "oidc:end": [public(404)],
    "people:users": [staff_page(), Try("POST", STAFF_EMPTY_POST)],
    "people:change_user": [Try("POST", STAFF_EMPTY_POST, kwargs=_owner)],
    "people:teams": [staff_page(), Try("POST", STAFF_EMPTY_POST)],
    # Nobody chosen: back to the page with its message.
    "people:add_member": [Try("POST", (LOGIN, 403, 403, 403, 302), kwargs=_team)],
    "people:remove_member": [
        Try(
            "POST",
            (LOGIN, 403, 403, 403, 302),
            kwargs=lambda r: {"pk": r["image"].team_id, "user_id": r["image"].user_id},
        )
    ],
    "people:budgets": [staff_page(), Try("POST", STAFF_EMPTY_POST)],
    "people:delete_budget": [
        Try("POST", (LOGIN, 403, 403, 403, 302), kwargs=lambda r: {"pk": r["budget"].pk})
    ],
}
