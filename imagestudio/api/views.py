"""The JSON API: submit images, poll them, list them, fetch their files, delete them.

Each function is one operation of the document (contract.operation); api_view joins the
operations of one URL into its view."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlencode

from django.db.models import Exists, OuterRef, Q, QuerySet, prefetch_related_objects
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.urls import reverse

from imagestudio import catalog
from imagestudio.api import idempotency, messages, openapi, requests, schemas, serializers
from imagestudio.api.access import changeable_generation, visible_generation
from imagestudio.api.auth import api_view, json_404_view
from imagestudio.api.contract import (
    ApiError,
    Reply,
    api_json,
    invalid,
    json_object,
    no_content,
    operation,
    parse,
    respond,
    storage_down_reply,
)
from imagestudio.campaigns import labelling, marks
from imagestudio.campaigns.models import Board, Star
from imagestudio.studio import changes, services
from imagestudio.studio.models import Batch, Generation, Kind, Status
from imagestudio.web import cursor, files

PAGE_SIZE = schemas.PAGE_SIZE

# Documented answers several operations share.
NOT_YOURS = "No such generation, or one the caller may not see (their own and their teams' images; staff see everyone's)."  # noqa: E501
INVALID = Reply("Invalid request: error.field names the first bad field.", schemas.Error)
TOO_LARGE = Reply("too_large: the request body is over the size limit.", schemas.Error)
BUDGET = Reply(
    "budget_exceeded: the batch would go past a monthly budget; the error also has scope, "
    "cap, used, reserved, cost (decimal strings) and resets_on (a date).",
    schemas.BudgetError,
)
ACCEPTED = Reply("Queued; poll each generation.", schemas.CreateResponse)
REUSED_KEY = Reply(
    "idempotency_key_reused: the Idempotency-Key was sent with another body in the last 24 h; "
    "in_progress: a request with it is still being answered (send it again shortly).",
    schemas.Error,
)
ID = {"id": {"type": "integer", "description": "A generation's id."}}


def _file(description: str) -> Reply:
    return Reply(description, content_type="image/*")


SIGNED_URL = Reply("With S3 storage: a short-lived signed URL to the file.", content_type="")


# --- /generations ---------------------------------------------------------------------------
@operation(
    "GET",
    "/generations",
    operation_id="listGenerations",
    summary="The caller's own generations (staff: everyone's), newest first, 50 a page. "
    "With board or batch: what the caller can see of it; with starred=true: what they "
    "starred, their teams' images included.",
    query=schemas.ListQuery,
    responses={
        200: Reply("A page of generations.", schemas.GenerationList),
        400: Reply("Unknown status or model, or a bad cursor.", schemas.Error),
        404: Reply("A board or batch that is not the caller's or their team's.", schemas.Error),
    },
)
def list_generations(request: HttpRequest) -> HttpResponseBase:
    parsed = parse(schemas.ListQuery, request.GET.dict())
    if parsed.model is None:
        raise invalid(
            {**{name: messages.wrong_type(name) for name in parsed.wrong_type}, **parsed.errors}
        )
    query = parsed.model
    queryset = _listed(request, query)
    if query.status:
        if query.status not in Status.values:
            raise invalid({"status": messages.unknown_status(list(Status.values))})
        queryset = queryset.filter(status=query.status)
    if query.model:
        if query.model not in catalog.MODELS:
            raise invalid({"model": messages.unknown_model(list(catalog.MODELS))})
        queryset = queryset.filter(model=query.model)
    oldest = query.order == "oldest"
    if query.cursor:
        position = cursor.decode(query.cursor)
        if position is None:
            raise invalid({"cursor": messages.bad_cursor()})
        if oldest:
            at, pk = position
            queryset = queryset.filter(
                Q(created_at__gt=at) | Q(created_at=at, pk__gt=pk), created_at__gte=at
            )
        else:
            queryset = cursor.after(queryset, position)
    ordering = ("created_at", "id") if oldest else ("-created_at", "-id")
    queryset = marks.with_marks(queryset.order_by(*ordering), request.user)
    # One row more than a page tells whether there is a next page without a COUNT.
    rows = list(queryset[: PAGE_SIZE + 1])
    page, more = rows[:PAGE_SIZE], len(rows) > PAGE_SIZE
    # Inputs only for edits: a page of text-to-image rows stays at two queries.
    prefetch_related_objects([r for r in page if r.kind != Kind.GENERATE], "inputs")
    return respond(
        schemas.GenerationList(
            results=[serializers.generation(request, row) for row in page],
            next=_next_url(request, query, page[-1]) if more else None,
        )
    )


def _listed(request: HttpRequest, query: schemas.ListQuery) -> QuerySet[Generation]:
    """Whose images a list starts from: the caller's own (as the gallery shows by default),
    or everything they can see of a board, a batch, or their stars."""
    user: Any = request.user
    visible = Generation.objects.viewable_by(user)
    queryset = Generation.objects.changeable_by(user)
    if query.board is not None:
        board = Board.objects.viewable_by(user).filter(pk=query.board).first()
        if board is None:
            raise ApiError(404, "not_found", messages.no_such_board(query.board))
        queryset = visible.filter(board_items__board=board)
    if query.batch is not None:
        batch = Batch.objects.viewable_by(user).filter(pk=query.batch).first()
        if batch is None:
            raise ApiError(404, "not_found", messages.no_such_batch(query.batch))
        queryset = (visible if query.board is None else queryset).filter(batch=batch)
    mine = Star.objects.filter(user=user, generation=OuterRef("pk"))
    if query.starred is True:
        if query.board is None and query.batch is None:
            queryset = visible
        queryset = queryset.filter(Exists(mine))
    elif query.starred is False:
        queryset = queryset.exclude(Exists(mine))
    return queryset


def _next_url(request: HttpRequest, query: schemas.ListQuery, last: Generation) -> str:
    params: dict[str, str] = {
        k: v for k, v in (("status", query.status), ("model", query.model)) if v
    }
    if query.starred is not None:
        params["starred"] = "true" if query.starred else "false"
    for name in ("board", "batch"):
        value = getattr(query, name)
        if value is not None:
            params[name] = str(value)
    if query.order != "newest":
        params["order"] = query.order
    params["cursor"] = cursor.encode(last)
    return request.build_absolute_uri(f"{reverse('api:generations')}?{urlencode(params)}")


@operation(
    "POST",
    "/generations",
    operation_id="createGenerations",
    summary="Ask for 1 to 10 images of one prompt, or a list (prompts, or a template with "
    "rows; count images each, at most 200), optionally with a preset and a brand kit: one "
    "batch.",
    body=schemas.CreateRequest,
    header_parameters=idempotency.PARAMETER,
    responses={
        202: ACCEPTED,
        400: INVALID,
        402: BUDGET,
        404: Reply("not_found: a kit that is not the caller's or their team's.", schemas.Error),
        409: REUSED_KEY,
        413: TOO_LARGE,
        503: storage_down_reply(schemas.Error),
    },
)
def create_generations(request: HttpRequest) -> HttpResponseBase:
    return idempotency.once(request, "generations", lambda: _create_generations(request))


def _create_generations(request: HttpRequest) -> HttpResponseBase:
    parsed = parse(schemas.CreateRequest, json_object(request))
    errors = {**parsed.type_errors(), **parsed.errors}
    try:
        return requests.submit(request, requests.ask_from(parsed.values), errors)
    except services.KitNotUsable as exc:
        raise ApiError(404, "not_found", messages.no_such_kit(exc.kit)) from exc


generations = api_view(list_generations, create_generations)


# --- /generations/{id} ----------------------------------------------------------------------
@operation(
    "GET",
    "/generations/{id}",
    operation_id="getGeneration",
    summary="One generation (poll this until its status is final; send a pending one's "
    "ETag back as If-None-Match and an unchanged one is a 304).",
    path_parameters=ID,
    responses={
        200: Reply("The generation (with an ETag while it is pending).", schemas.Generation),
        304: Reply(
            "Not modified: If-None-Match named its current ETag (no body).", content_type=""
        ),
        404: Reply(NOT_YOURS),
    },
)
def get_generation(request: HttpRequest, pk: int) -> HttpResponseBase:
    """A pending image of the caller's own carries an ETag (studio.changes): sent back as
    If-None-Match while nothing changed, the poll is a 304 from one cache read."""
    # Read before the row: a change after this read is one the next poll will see.
    user_id = int(request.user.pk or 0)  # signed in: api_view checked it
    counters = changes.versions([changes.user_scope(user_id), changes.MARKS_SCOPE])
    row = visible_generation(request, pk, marked=True)
    own_pending = row.is_pending and row.user_id == user_id
    held = changes.from_etag(request.headers.get("If-None-Match", ""))
    if own_pending and held and changes.still_current(request.path, held, row.user_id, counters):
        # What the middleware answers when it can read the caller from the cache alone.
        return HttpResponse(status=304, headers={"ETag": changes.etag(held)})
    response = respond(serializers.generation(request, row))
    signed = changes.token(request.path, user_id, counters) if own_pending else ""
    if signed:
        response["ETag"] = changes.etag(signed)
    return response


@operation(
    "DELETE",
    "/generations/{id}",
    operation_id="deleteGeneration",
    summary="Cancel a queued generation; delete any other one and its files.",
    path_parameters=ID,
    responses={
        204: Reply(
            "Canceled (queued) or deleted (running or finished: a running call still ends, "
            "and is billed, but its image is dropped)."
        ),
        403: Reply("forbidden: a team-mate's generation, which the caller may only look at."),
        404: Reply(NOT_YOURS),
    },
)
def delete_generation(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Queued → canceled (the row stays, as canceled, nothing billed); otherwise hidden and
    its files removed. A running call cannot be called back: when it finishes, the worker
    sees the row is deleted and drops the files; the ledger keeps what it cost."""
    row = changeable_generation(request, pk)
    if row.status == Status.QUEUED and row.cancel():
        return no_content()
    row.soft_delete()
    return no_content()


@operation(
    "PATCH",
    "/generations/{id}",
    operation_id="updateGeneration",
    summary="Star or unstar a generation the caller can see (stars are each caller's own, "
    "so a team-mate's image may be starred too).",
    path_parameters=ID,
    body=schemas.GenerationUpdate,
    responses={
        200: Reply("The generation, with the caller's star.", schemas.Generation),
        400: INVALID,
        404: Reply(NOT_YOURS),
        413: TOO_LARGE,
    },
)
def update_generation(request: HttpRequest, pk: int) -> HttpResponseBase:
    row = visible_generation(request, pk)
    parsed = parse(schemas.GenerationUpdate, json_object(request))
    if parsed.model is None:
        errors = {name: messages.wrong_type(name) for name in parsed.wrong_type}
        for name in set(errors) - set(schemas.GenerationUpdate.model_fields):
            errors[name] = messages.not_a_field(name)
        raise invalid({**errors, **parsed.errors} or {"starred": messages.wrong_type("starred")})
    Star.put(request.user, row, parsed.model.starred)
    return respond(serializers.generation(request, visible_generation(request, pk)))


generation_detail = api_view(get_generation, update_generation, delete_generation)


# --- /generations/{id}/image and /thumbnail -------------------------------------------------
def _serve_file(request: HttpRequest, pk: int, kind: str) -> HttpResponseBase:
    row = visible_generation(request, pk)
    name = (row.image if kind == "image" else row.thumbnail).name
    if row.status != Status.SUCCEEDED or not name:
        raise ApiError(404, "not_found", messages.no_file(pk, kind, row.status))
    return files.serve(name, missing=messages.file_missing(pk, kind))


_FILE_404 = Reply(NOT_YOURS + " Also while it has not succeeded, or when the file is gone.")


@operation(
    "GET",
    "/generations/{id}/image",
    operation_id="getGenerationImage",
    summary="The image file, with its AI-content labels (docs/labelling.md).",
    path_parameters=ID,
    responses={
        200: _file(
            "The stored file as delivered: GB 45438-2025's AIGC record and IPTC's "
            "digital source type in its XMP; the visible label too when the user's or "
            "the team's setting asks for it."
        ),
        404: _FILE_404,
    },
)
def get_generation_image(request: HttpRequest, pk: int) -> HttpResponseBase:
    row = visible_generation(request, pk)
    if row.status != Status.SUCCEEDED or not row.image.name:
        raise ApiError(404, "not_found", messages.no_file(pk, "image", row.status))
    # A delivered copy: the AI-content labels in the file (campaigns.labelling).
    try:
        return labelling.response(
            row,
            user=request.user,
            filename=PurePosixPath(row.image.name).name,
            download=False,
        )
    except Http404:
        raise ApiError(404, "not_found", messages.file_missing(pk, "image")) from None


@operation(
    "GET",
    "/generations/{id}/thumbnail",
    operation_id="getGenerationThumbnail",
    summary="A WebP thumbnail.",
    path_parameters=ID,
    responses={200: _file("The stored thumbnail."), 302: SIGNED_URL, 404: _FILE_404},
)
def get_generation_thumbnail(request: HttpRequest, pk: int) -> HttpResponseBase:
    return _serve_file(request, pk, "thumbnail")


generation_image = api_view(get_generation_image)
generation_thumbnail = api_view(get_generation_thumbnail)


# --- discovery ------------------------------------------------------------------------------
def _base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri(reverse("api:index")).rstrip("/")


@operation(
    "GET",
    "/openapi.json",
    operation_id="getOpenApi",
    summary="This document.",
    public=True,
    responses={200: Reply("The OpenAPI document.")},
)
def get_openapi(request: HttpRequest) -> HttpResponseBase:
    return api_json(openapi.build_document(_base_url(request)), status=200)


@operation(
    "GET",
    "/",
    operation_id="getIndex",
    summary="Where things are.",
    public=True,
    hidden=True,
    responses={200: Reply("Links to the document and the generations.")},
)
def get_index(request: HttpRequest) -> HttpResponseBase:
    base = _base_url(request)
    return api_json(
        {
            "openapi": f"{base}/openapi.json",
            "generations": f"{base}/generations",
            "authentication": messages.authentication_hint(),
        },
        status=200,
    )


openapi_json = api_view(get_openapi)
index = api_view(get_index)


@json_404_view
def not_found(request: HttpRequest, path: str = "") -> HttpResponse:
    # Without this an unknown API path would get the HTML login redirect or 404 page.
    raise Http404(messages.no_endpoint(request.path, f"{_base_url(request)}/openapi.json"))
