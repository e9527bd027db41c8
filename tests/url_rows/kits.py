"""URL permission rows for brand kits and the built-in presets (see
tests/test_url_permissions.py). `r` is the rows fixture: r["kit"] is the owner's team kit
(one picture), so the team-mate maintains it as the owner does and the outsider gets 404."""

from __future__ import annotations

from imagestudio import catalog
from tests.permissions import LOGIN, Try, browser_page


def _kit(r: dict) -> dict:
    return {"pk": r["kit"].pk}


def _picture(r: dict) -> dict:
    return {"pk": r["kit"].pk, "position": 1}


RENAME = {"name": "Renamed kit", "model": catalog.VIP}

ROWS: dict[str, list[Try]] = {
    "kits:list": [browser_page()],
    # A kit without a name: the form again with its message, nothing saved.
    "kits:new": [browser_page(), Try("POST", (LOGIN, 400, 400, 400, 400))],
    "kits:edit": [
        Try("GET", (LOGIN, 200, 200, 404, 200), kwargs=_kit),
        # A rename keeps the kit's team, as the form sends it.
        Try(
            "POST",
            (LOGIN, 302, 302, 404, 302),
            kwargs=_kit,
            data=lambda r: {**RENAME, "team": r["kit"].team_id},
        ),
        # Making it personal: its creator or staff only (a team-mate gets the form again).
        Try("POST", (LOGIN, 302, 400, 404, 302), kwargs=_kit, data=lambda r: RENAME),
    ],
    "kits:delete": [
        Try("GET", (LOGIN, 200, 200, 404, 200), kwargs=_kit),
        Try("POST", (LOGIN, 302, 302, 404, 302), kwargs=_kit),
    ],
    "kits:picture": [Try("GET", (LOGIN, 200, 200, 404, 200), kwargs=_picture)],
    # --- the API ---------------------------------------------------------------------------
    "api:presets": [Try("GET", (401, 200, 200, 200, 200))],
    "api:models": [Try("GET", (401, 200, 200, 200, 200))],
    "api:estimate": [
        Try(
            "GET",
            (401, 200, 200, 200, 200),
            query=lambda r: {"model": catalog.OFFICIAL, "inputs": "3"},
        ),
        Try("GET", (401, 400, 400, 400, 400), query=lambda r: {"model": "nope"}),
    ],
    "api:kits": [
        Try("GET", (401, 200, 200, 200, 200)),  # each caller's usable kits
        Try(
            "POST",
            (401, 201, 201, 201, 201),
            data=lambda r: {"name": "Mine", "preset": "poster"},
            body="json",
        ),
    ],
    "api:kit": [
        Try("GET", (401, 200, 200, 404, 200), kwargs=_kit),
        Try("PATCH", (401, 200, 200, 404, 200), kwargs=_kit, data=lambda r: {"style": "bold"}),
        Try("DELETE", (401, 204, 204, 404, 204), kwargs=_kit),
    ],
    "api:kit-picture": [Try("GET", (401, 200, 200, 404, 200), kwargs=_picture)],
}
