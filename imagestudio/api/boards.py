"""/api/v1/boards (named collections of images, personal or a team's) and /api/v1/downloads
(a selection as a ZIP): the board pages' rules (campaigns.boards, Board.objects.viewable_by,
Board.can_delete) said in JSON. A board the caller may not see is a 404."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from imagestudio.api import messages, schemas, serializers
from imagestudio.api.access import MAX_ID, visible_generation
from imagestudio.api.auth import api_view
from imagestudio.api.contract import (
    ApiError,
    Reply,
    body_values,
    invalid,
    json_object,
    no_content,
    operation,
    respond,
)
from imagestudio.campaigns import boards, delivery, marks
from imagestudio.campaigns.models import Board, may_change_team
from imagestudio.studio.models import Generation

BOARD_ID = {"id": {"type": "integer", "description": "A board's id."}}
FIELDS = ("name", "team", "generations")
INVALID = Reply("Invalid request: error.field names the first bad field.", schemas.Error)
NO_BOARD = Reply("No such board, or not yours or your team's.", schemas.Error)
TOO_LARGE = Reply("too_large: the request body is over the size limit.", schemas.Error)
ZIP = Reply(
    "A ZIP, streamed: the originals as <id>-<slug-of-prompt>.<ext> and manifest.csv (UTF-8 "
    "with BOM).",
    content_type="application/zip",
)


def _boards(request: HttpRequest) -> Any:
    """The caller's boards, each with how many images on it they can see (one query)."""
    visible = Generation.objects.viewable_by(request.user).values("pk")
    on = Q(items__generation__in=visible)
    return Board.objects.viewable_by(request.user).annotate(count=Count("items", filter=on))


def _get_board_for_user(request: HttpRequest, pk: int) -> Board:
    row = _boards(request).filter(pk=pk).first() if 0 < pk <= MAX_ID else None
    if row is None:
        raise ApiError(404, "not_found", messages.no_such_board(pk))
    return row


def _board(row: Board) -> schemas.Board:
    return schemas.Board(
        id=row.pk,
        name=row.name,
        team=row.team_id,
        created_by=row.created_by_id,
        count=getattr(row, "count", 0),
        created_at=row.created_at.isoformat(),
    )


def zip_answer(
    generations: Any, *, user: Any, filename: str, board: Board | None = None, status: int = 200
) -> HttpResponseBase:
    """delivery.zip_response for an operation: its `status` literal is what the contract
    test reads as the operation's 200 (batches' download may answer through it too)."""
    return delivery.zip_response(
        generations, user=user, filename=filename, board=board, status=status
    )


def _on_board(request: HttpRequest, board: Board) -> Any:
    return (
        Generation.objects.viewable_by(request.user)
        .filter(board_items__board=board)
        .order_by("-board_items__added_at", "-id")
    )


@operation(
    "GET",
    "/boards",
    operation_id="listBoards",
    summary="The boards the caller can see: their own and their teams' (staff: all).",
    responses={200: Reply("The boards, newest first.", schemas.BoardList)},
)
def list_boards(request: HttpRequest) -> HttpResponseBase:
    return respond(schemas.BoardList(results=[_board(row) for row in _boards(request)]))


@operation(
    "POST",
    "/boards",
    operation_id="createBoard",
    summary="A new board, the caller's own or shared with one of their teams.",
    body=schemas.BoardCreate,
    responses={201: Reply("The new board.", schemas.Board), 400: INVALID, 413: TOO_LARGE},
)
def create_board(request: HttpRequest) -> HttpResponseBase:
    values = body_values(schemas.BoardCreate, json_object(request), FIELDS)
    try:
        board = boards.create(request.user, values["name"], values["team"])
    except boards.BoardInvalid as exc:
        raise invalid(exc.errors, FIELDS) from exc
    board.count = 0  # type: ignore[attr-defined]  # a new board holds nothing yet
    return respond(_board(board), status=201)


@operation(
    "GET",
    "/boards/{id}",
    operation_id="getBoard",
    summary="One board with its images (those the caller can see), the last added first.",
    path_parameters=BOARD_ID,
    responses={200: Reply("The board.", schemas.BoardDetail), 404: NO_BOARD},
)
def get_board(request: HttpRequest, pk: int) -> HttpResponseBase:
    board = _get_board_for_user(request, pk)
    rows = list(marks.with_marks(_on_board(request, board), request.user))
    return respond(
        schemas.BoardDetail(
            **_board(board).model_dump(),
            generations=[serializers.generation(request, row) for row in rows],
        )
    )


@operation(
    "PATCH",
    "/boards/{id}",
    operation_id="updateBoard",
    summary="Rename a board or change whom it is shared with (any member of its team may).",
    path_parameters=BOARD_ID,
    body=schemas.BoardUpdate,
    responses={
        200: Reply("The board.", schemas.Board),
        400: INVALID,
        404: NO_BOARD,
        413: TOO_LARGE,
    },
)
def update_board(request: HttpRequest, pk: int) -> HttpResponseBase:
    board = _get_board_for_user(request, pk)
    body = json_object(request)
    values = body_values(schemas.BoardUpdate, body, FIELDS)
    try:
        if "name" in body:
            board.name = boards.clean_name(values["name"])
        if "team" in body:
            team = boards.clean_team(request.user, values["team"])
            if team != board.team and not may_change_team(request.user, board):
                raise boards.BoardInvalid({"team": boards.not_yours_to_move()})
            board.team = team
    except boards.BoardInvalid as exc:
        raise invalid(exc.errors, FIELDS) from exc
    board.save(update_fields=["name", "team"])
    # The caller may change it, so may see it, wherever it now is.
    return respond(_board(_boards(request).get(pk=board.pk)))


@operation(
    "DELETE",
    "/boards/{id}",
    operation_id="deleteBoard",
    summary="Delete a board (its creator or staff only); its images stay.",
    path_parameters=BOARD_ID,
    responses={
        204: Reply("Deleted."),
        403: Reply("forbidden: a team's board that someone else created.", schemas.Error),
        404: NO_BOARD,
    },
)
def delete_board(request: HttpRequest, pk: int) -> HttpResponseBase:
    board = _get_board_for_user(request, pk)
    if not board.can_delete(request.user):
        raise ApiError(403, "forbidden", messages.only_creator_deletes_board())
    board.delete()
    return no_content()


@operation(
    "POST",
    "/boards/{id}/items",
    operation_id="addBoardItems",
    summary="Put images on a board (those the caller can see; ids already there stay).",
    path_parameters=BOARD_ID,
    body=schemas.Selection,
    responses={
        200: Reply("How many were added, and the board.", schemas.BoardItemsAdded),
        400: INVALID,
        404: NO_BOARD,
        413: TOO_LARGE,
    },
)
def add_board_items(request: HttpRequest, pk: int) -> HttpResponseBase:
    board = _get_board_for_user(request, pk)
    values = body_values(schemas.Selection, json_object(request), FIELDS)
    ids = [pk for pk in values["generations"] if 0 < pk <= MAX_ID]
    added = board.add(ids, request.user)
    return respond(
        schemas.BoardItemsAdded(added=added, board=_board(_get_board_for_user(request, pk)))
    )


@operation(
    "DELETE",
    "/boards/{id}/items/{generation_id}",
    operation_id="removeBoardItem",
    summary="Take an image off a board (any member of its team may); the image stays.",
    path_parameters={
        **BOARD_ID,
        "generation_id": {"type": "integer", "description": "A generation's id."},
    },
    responses={204: Reply("Removed."), 404: NO_BOARD},
)
def remove_board_item(request: HttpRequest, pk: int, generation_id: int) -> HttpResponseBase:
    board = _get_board_for_user(request, pk)
    generation = visible_generation(request, generation_id)
    if not board.remove(generation.pk):
        raise ApiError(404, "not_found", messages.not_on_board(generation_id, pk))
    return no_content()


@operation(
    "GET",
    "/boards/{id}/download",
    operation_id="downloadBoard",
    summary="The board's images as one ZIP with manifest.csv, streamed.",
    path_parameters=BOARD_ID,
    responses={200: ZIP, 404: NO_BOARD},
)
def download_board(request: HttpRequest, pk: int) -> HttpResponseBase:
    board = _get_board_for_user(request, pk)
    return zip_answer(
        _on_board(request, board),
        user=request.user,
        filename=delivery.archive_name(board.name, f"board-{board.pk}"),
        board=board,
    )


@operation(
    "POST",
    "/downloads",
    operation_id="downloadSelection",
    summary="Chosen images as one ZIP with manifest.csv, streamed (ids the caller cannot "
    "see are left out).",
    body=schemas.Selection,
    responses={
        200: ZIP,
        400: INVALID,
        404: Reply("not_found: none of the ids is an image the caller can see.", schemas.Error),
        413: TOO_LARGE,
    },
)
def download_selection(request: HttpRequest) -> HttpResponseBase:
    values = body_values(schemas.Selection, json_object(request), FIELDS)
    ids = [pk for pk in values["generations"] if 0 < pk <= MAX_ID]
    chosen = Generation.objects.viewable_by(request.user).filter(pk__in=ids)
    if not chosen.exists():
        raise ApiError(404, "not_found", messages.nothing_to_download())
    return zip_answer(
        chosen.order_by("-created_at", "-id"), user=request.user, filename="imagestudio-selection"
    )


board_collection = api_view(list_boards, create_board)
board_detail = api_view(get_board, update_board, delete_board)
board_items = api_view(add_board_items)
board_item = api_view(remove_board_item)
board_download = api_view(download_board)
downloads = api_view(download_selection)
