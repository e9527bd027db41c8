"""URL permission rows for stars, boards, the viewer and ZIP downloads (see
tests/test_url_permissions.py).
`r` is the rows fixture: image, staged, token, budget, board, kit, batch. r["board"] is the
owner's team board holding the owner's team image: the team-mate adds, removes, renames and
downloads as the owner does, but only its creator (or staff) deletes it; the outsider gets 404."""

from __future__ import annotations

from tests.permissions import LOGIN, Try, browser_page


def _board(r: dict) -> dict:
    return {"pk": r["board"].pk}


def _item(r: dict) -> dict:
    return {"pk": r["board"].pk, "generation_id": r["image"].pk}


def _selection(r: dict) -> dict:
    return {"ids": [r["image"].pk]}


ROWS: dict[str, list[Try]] = {
    "boards:list": [
        browser_page(),
        Try("POST", (LOGIN, 302, 302, 302, 302), data=lambda r: {"name": "Mine"}),
        # No name: the page again with its message, nothing created.
        Try("POST", (LOGIN, 400, 400, 400, 400)),
    ],
    "boards:detail": [Try("GET", (LOGIN, 200, 200, 404, 200), kwargs=_board)],
    "boards:rename": [
        Try("POST", (LOGIN, 302, 302, 404, 302), kwargs=_board, data=lambda r: {"name": "New"})
    ],
    "boards:delete": [
        Try("GET", (LOGIN, 200, 403, 404, 200), kwargs=_board),
        Try("POST", (LOGIN, 302, 403, 404, 302), kwargs=_board),
    ],
    "boards:download": [Try("GET", (LOGIN, 200, 200, 404, 200), kwargs=_board)],
    "boards:remove": [Try("POST", (LOGIN, 302, 302, 404, 302), kwargs=_item)],
    "boards:add": [
        Try(
            "POST",
            (LOGIN, 302, 302, 404, 302),
            data=lambda r: {**_selection(r), "board": r["board"].pk},
        )
    ],
    "boards:star": [Try("POST", (LOGIN, 302, 302, 404, 302), data=lambda r: {"starred": "1"})],
    # The outsider's selection holds nothing they may see.
    "boards:downloads": [Try("POST", (LOGIN, 200, 200, 404, 200), data=_selection)],
    # Only one's own images go; a team-mate's or an outsider's request deletes nothing.
    "boards:bulk-delete": [Try("POST", (LOGIN, 302, 302, 302, 302), data=_selection)],
}

# --- the API -------------------------------------------------------------------------------
ROWS.update(
    {
        "api:boards": [
            Try("GET", (401, 200, 200, 200, 200)),  # each caller's boards
            Try("POST", (401, 201, 201, 201, 201), data=lambda r: {"name": "Mine"}, body="json"),
        ],
        "api:board": [
            Try("GET", (401, 200, 200, 404, 200), kwargs=_board),
            Try("PATCH", (401, 200, 200, 404, 200), kwargs=_board, data=lambda r: {"name": "N"}),
            Try("DELETE", (401, 204, 403, 404, 204), kwargs=_board),
        ],
        "api:board-items": [
            Try(
                "POST",
                (401, 200, 200, 404, 200),
                kwargs=_board,
                data=lambda r: {"generations": [r["image"].pk]},
                body="json",
            )
        ],
        "api:board-item": [Try("DELETE", (401, 204, 204, 404, 204), kwargs=_item)],
        "api:board-download": [Try("GET", (401, 200, 200, 404, 200), kwargs=_board)],
        "api:downloads": [
            Try(
                "POST",
                (401, 200, 200, 404, 200),
                data=lambda r: {"generations": [r["image"].pk]},
                body="json",
            )
        ],
    }
)
