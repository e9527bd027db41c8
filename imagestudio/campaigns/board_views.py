"""Boards, stars and downloads in the browser: /boards/… (list, create, one board, rename,
delete, download), /boards/add (a selection onto a board, from the gallery, the viewer, the
batch and detail pages), /g/<id>/star, /downloads (a selection as a ZIP) and /g/bulk-delete.

Who may do what is the models' (Board.objects.viewable_by, Board.can_delete,
Generation.objects.viewable_by/changeable_by); the words and input rules are
campaigns.boards'. A board the user cannot see is a 404, as is an image."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from imagestudio.campaigns import boards, delivery, marks
from imagestudio.campaigns.models import Board, BoardItem, Star
from imagestudio.studio.models import Generation, GenerationQuerySet
from imagestudio.web import parsing
from imagestudio.web.htmx import HtmxHttpRequest, redirect_or_client


def tiles(qs: GenerationQuerySet, user: Any) -> QuerySet[Generation]:
    """Grid rows with the caller's marks: the same few queries for 10 images or 500."""
    return marks.with_marks(qs.grid(), user)


def with_newest_version(qs: GenerationQuerySet, user: Any) -> GenerationQuerySet:
    """Each image with its thread's newest version the user can see (`newest_id`) and the
    thread's size (`in_thread`): a poster edited further after it was put on a board
    leads there to its new version. Subqueries of the same statement: no query per tile."""
    same_thread = Q(thread_id=OuterRef("thread_key")) | Q(pk=OuterRef("thread_key"))
    versions = Generation.objects.viewable_by(user).filter(same_thread)
    newest = versions.order_by("-created_at", "-id").values("pk")[:1]
    count = versions.order_by().annotate(one=Value(1)).values("one")
    count = count.annotate(n=Count("pk")).values("n")
    return qs.annotate(thread_key=Coalesce("thread_id", "id")).annotate(
        newest_id=Subquery(newest), in_thread=Subquery(count)
    )


def _get_board_for_user(request: HtmxHttpRequest, pk: int) -> Board:
    return get_object_or_404(Board.objects.viewable_by(request.user).select_related("team"), pk=pk)


def _back(request: HtmxHttpRequest, fallback: str) -> str:
    """Where a plain form goes back to: its `next` when it is ours, else `fallback`."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def _note(request: HtmxHttpRequest, text: str, *, status: int = 200, error: bool = False):
    """An htmx answer: the sentence, put where the form shows its status."""
    return render(
        request, "campaigns/boards.html#note", {"note": text, "error": error}, status=status
    )


# --- the list of boards ----------------------------------------------------------------------
@require_http_methods(["GET", "POST"])
def board_list(request: HtmxHttpRequest) -> HttpResponse:
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            board = boards.create(request.user, request.POST.get("name"), request.POST.get("team"))
        except boards.BoardInvalid as exc:
            errors = exc.errors
        else:
            messages.success(request, _("Board “%(name)s” created.") % {"name": board.name})
            return redirect_or_client(request, reverse("boards:detail", args=[board.pk]))
    # Count and cover only what the viewer may see: a board shared with a team can hold a
    # team-mate's images from another team, or ones since deleted.
    visible = Generation.objects.viewable_by(request.user).values("pk")
    newest = BoardItem.objects.filter(board=OuterRef("pk"), generation__in=visible).order_by(
        "-added_at", "-id"
    )
    rows = list(
        Board.objects.viewable_by(request.user)
        .select_related("team", "created_by")
        .annotate(
            count=Count("items", filter=Q(items__generation__in=visible)),
            cover=Subquery(newest.values("generation_id")[:1]),
        )
    )
    context = {
        "boards": rows,
        "teams": boards.teams_choosable(request.user),
        "errors": errors,
        "name_value": request.POST.get("name", ""),
        "team_value": request.POST.get("team", ""),
        "name_max": boards.NAME_MAX,
    }
    return render(request, "campaigns/boards.html", context, status=400 if errors else 200)


# --- one board ---------------------------------------------------------------------------------
@require_GET
def board_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    board = _get_board_for_user(request, pk)
    on_board = Generation.objects.viewable_by(request.user).filter(board_items__board=board)
    rows = list(
        tiles(with_newest_version(on_board, request.user), request.user).order_by(
            "-board_items__added_at", "-id"
        )
    )
    context = {
        "board": board,
        "rows": rows,
        "can_delete": board.can_delete(request.user),
        "name_max": boards.NAME_MAX,
        "viewer_boards": boards.viewer_boards(request.user),
    }
    return render(request, "campaigns/board.html", context)


@require_POST
def board_rename(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    board = _get_board_for_user(request, pk)
    try:
        boards.rename(board, request.POST.get("name"))
    except boards.BoardInvalid as exc:
        if request.htmx:
            return _note(request, exc.errors["name"], status=400, error=True)
        messages.error(request, exc.errors["name"])
    return redirect_or_client(request, reverse("boards:detail", args=[board.pk]))


@require_http_methods(["GET", "POST"])
def board_delete(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    board = _get_board_for_user(request, pk)
    if not board.can_delete(request.user):
        return render(
            request, "campaigns/board_delete.html", {"board": board, "refused": True}, status=403
        )
    if request.method == "POST":
        name = board.name
        board.delete()
        messages.success(request, boards.deleted(name))
        return redirect_or_client(request, reverse("boards:list"))
    count = board.items.filter(
        generation__in=Generation.objects.viewable_by(request.user).values("pk")
    ).count()
    return render(request, "campaigns/board_delete.html", {"board": board, "count": count})


@require_POST
def board_remove(request: HtmxHttpRequest, pk: int, generation_id: int) -> HttpResponse:
    board = _get_board_for_user(request, pk)
    # Only an image the user can see: someone else's on a shared board is theirs to keep.
    generation = get_object_or_404(Generation.objects.viewable_by(request.user), pk=generation_id)
    board.remove(generation.pk)
    if request.htmx:
        return HttpResponse("")  # the tile is swapped out for nothing
    messages.success(request, boards.removed(board.name))
    return redirect(_back(request, reverse("boards:detail", args=[board.pk])))


@require_GET
def board_download(request: HtmxHttpRequest, pk: int) -> StreamingHttpResponse:
    board = _get_board_for_user(request, pk)
    on_board = Generation.objects.viewable_by(request.user).filter(board_items__board=board)
    return delivery.zip_response(
        on_board.order_by("-board_items__added_at", "-id"),
        user=request.user,
        filename=delivery.archive_name(board.name, f"board-{board.pk}"),
        board=board,
    )


# --- a selection ---------------------------------------------------------------------------------
def _selected(request: HtmxHttpRequest) -> list[int]:
    return boards.selection(request.POST.getlist("ids"))


@require_POST
def board_add(request: HtmxHttpRequest) -> HttpResponse:
    """Put the selected images (`ids`) on `board`, or on a new board named `new_name`
    (shared with `team` if given)."""
    fallback = reverse("studio:gallery")
    ids = _selected(request)
    try:
        if not ids:
            raise boards.BoardInvalid({"ids": boards.nothing_selected()})
        chosen = parsing.id_or_none(request.POST.get("board", ""))
        if chosen is not None:
            board = _get_board_for_user(request, chosen)
        elif request.POST.get("new_name", "").strip():
            board = boards.create(request.user, request.POST["new_name"], request.POST.get("team"))
        else:
            raise boards.BoardInvalid({"board": boards.no_board_chosen()})
    except boards.BoardInvalid as exc:
        text = " ".join(exc.errors.values())
        if request.htmx:
            return _note(request, text, status=400, error=True)
        messages.error(request, text)
        return redirect(_back(request, fallback))
    count = board.add(ids, request.user)
    text = boards.added(count, board.name)
    if request.htmx:
        return _note(request, text)
    messages.success(request, text)
    return redirect(_back(request, fallback))


@require_POST
def star(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """`starred=1` stars, `starred=0` unstars (explicit, so a double click is harmless)."""
    generation = get_object_or_404(Generation.objects.viewable_by(request.user), pk=pk)
    on = Star.put(request.user, generation, request.POST.get("starred") == "1")
    if request.htmx:
        return render(request, "campaigns/boards.html#star", {"g": generation, "starred": on})
    return redirect(_back(request, reverse("studio:detail", args=[pk])))


@require_POST
def download(request: HtmxHttpRequest) -> HttpResponseBase:
    ids = _selected(request)
    if not ids:
        messages.error(request, boards.nothing_selected())
        return redirect(_back(request, reverse("studio:gallery")))
    chosen = Generation.objects.viewable_by(request.user).filter(pk__in=ids)
    if not chosen.exists():
        raise Http404(boards.nothing_selected())
    chosen = chosen.order_by("-created_at", "-id")
    return delivery.zip_response(chosen, user=request.user, filename="imagestudio-selection")


@require_POST
def bulk_delete(request: HtmxHttpRequest) -> HttpResponse:
    """Delete the selected images that are the user's own; a team-mate's stay."""
    ids = _selected(request)
    if not ids:
        messages.error(request, boards.nothing_selected())
    else:
        count, skipped = boards.delete_own(request.user, ids)
        messages.success(request, boards.bulk_deleted(count, skipped))
    return redirect_or_client(request, _back(request, reverse("studio:gallery")))
