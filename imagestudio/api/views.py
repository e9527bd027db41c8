"""The JSON API: submit images, poll them, list them, fetch their files, delete them."""

from __future__ import annotations

import base64
import binascii
import json
import posixpath
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.files.storage import default_storage
from django.db.models import Q, QuerySet, prefetch_related_objects
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    QueryDict,
)
from django.urls import reverse
from django.utils.cache import patch_cache_control

from imagestudio import catalog
from imagestudio.api import openapi, serializers
from imagestudio.api import spend as spend_api
from imagestudio.api.auth import api_view
from imagestudio.api.serializers import api_json, json_error
from imagestudio.spend.budgets import BudgetExceeded
from imagestudio.studio import services
from imagestudio.studio.models import Generation, Kind, Status

PAGE_SIZE = 50
# Larger ids would overflow the database's integer column instead of simply not matching.
_MAX_ID = 2**63 - 1

# Fields a client might copy from the OpenAI images API. The gateway bills every image `n`
# asks for but returns one, and ignores `quality` while still billing the call: refusing
# them loudly is cheaper than letting a script pay for nothing.
REJECTED_FIELDS = {
    "n": (
        "Do not send n: the gateway bills n images per call but only ever returns one. "
        f"Use count (1–{catalog.MAX_COUNT}) instead: each image is its own call."
    ),
    "quality": (
        "Do not send quality: the gateway never honours it (it bills n and quality settings "
        "without applying them). Pick a 1K, 2K or 4K size of gpt-image-2-vip instead."
    ),
}
# The order in which a 400 names "the" bad field: as the fields appear in the docs.
FIELD_ORDER = ("n", "quality", "model", "prompt", "size", "count", "fallback_2k")


# --- helpers --------------------------------------------------------------------------------
def _get_generation_for_user(request: HttpRequest, pk: int) -> Generation:
    """A generation the caller may see (Generation.objects.viewable_by: their own, their
    teams', anyone's for staff), or Http404 → JSON 404.

    An outsider's id gets the same 404 as a missing one, so ids reveal nothing."""
    queryset = Generation.objects.viewable_by(request.user)
    row = queryset.filter(pk=pk).first() if pk <= _MAX_ID else None
    if row is None:
        raise Http404(f"There is no generation {pk} that you can see.")
    return row


def _invalid(errors: dict[str, str]) -> HttpResponse:
    fields = {f: errors[f] for f in sorted(errors, key=_field_rank)}
    first = next(iter(fields))
    return json_error(400, "invalid", fields[first], field=first, fields=fields)


def _field_rank(field: str) -> int:
    return FIELD_ORDER.index(field) if field in FIELD_ORDER else len(FIELD_ORDER)


def _json_object(request: HttpRequest) -> dict[str, Any] | HttpResponse:
    """The body as a JSON object, or the 400/413 response explaining what is wrong with it."""
    try:
        raw = request.body
    except RequestDataTooBig:
        return json_error(413, "too_large", "The request body is too large.")
    try:
        data = json.loads(raw or b"null")
    except ValueError as exc:
        return json_error(
            400, "bad_request", f"The body is not valid JSON ({exc}). Send a JSON object."
        )
    if not isinstance(data, dict):
        return json_error(
            400,
            "bad_request",
            'The body must be a JSON object, for example {"model": "'
            f'{catalog.DEFAULT_MODEL}", "prompt": "a red bicycle"}}.',
        )
    return data


def _encode_cursor(row: Generation) -> str:
    raw = f"{row.created_at.isoformat()}|{row.pk}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, int] | None:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, pk = raw.split("|")
        return datetime.fromisoformat(moment), int(pk)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None


def _filtered(request: HttpRequest, params: QueryDict) -> QuerySet[Generation] | HttpResponse:
    # The caller's own images (everyone's for staff), as the gallery shows by default.
    queryset = Generation.objects.changeable_by(request.user).order_by("-created_at", "-id")
    status, model, cursor = (params.get(k, "") for k in ("status", "model", "cursor"))
    if status:
        if status not in Status.values:
            return _invalid({"status": f"Unknown status. Use one of: {', '.join(Status.values)}."})
        queryset = queryset.filter(status=status)
    if model:
        if model not in catalog.MODELS:
            return _invalid({"model": f"Unknown model. Use one of: {', '.join(catalog.MODELS)}."})
        queryset = queryset.filter(model=model)
    if cursor:
        position = _decode_cursor(cursor)
        if position is None:
            return _invalid({"cursor": "Invalid cursor: follow the `next` URL as given."})
        # Keyset, not OFFSET: rows arriving while a client pages never shift the pages.
        moment, pk = position
        # created_at__lte is redundant but lets SQLite seek the index (see the gallery).
        queryset = queryset.filter(
            Q(created_at__lt=moment) | Q(created_at=moment, pk__lt=pk), created_at__lte=moment
        )
    return queryset


def _next_url(request: HttpRequest, last: Generation) -> str:
    params = {k: request.GET[k] for k in ("status", "model") if request.GET.get(k)}
    params["cursor"] = _encode_cursor(last)
    return request.build_absolute_uri(f"{reverse('api:generations')}?{urlencode(params)}")


# --- /generations ---------------------------------------------------------------------------
def _list(request: HttpRequest) -> HttpResponse:
    queryset = _filtered(request, request.GET)
    if isinstance(queryset, HttpResponse):
        return queryset
    # One row more than a page tells whether there is a next page without a COUNT.
    rows = list(queryset[: PAGE_SIZE + 1])
    page, more = rows[:PAGE_SIZE], len(rows) > PAGE_SIZE
    # Inputs only for edits: a page of text-to-image rows stays at two queries.
    prefetch_related_objects([r for r in page if r.kind != Kind.GENERATE], "inputs")
    return api_json(
        {
            "results": [serializers.generation(request, row) for row in page],
            "next": _next_url(request, page[-1]) if more else None,
        }
    )


def _create(request: HttpRequest) -> HttpResponse:
    body = _json_object(request)
    if isinstance(body, HttpResponse):
        return body
    errors = {field: message for field, message in REJECTED_FIELDS.items() if field in body}
    team, override = spend_api.charge(request.user, body, errors)
    try:
        valid = services.validate(
            model=body.get("model"),
            prompt=body.get("prompt"),
            size=body.get("size"),
            count=body.get("count", 1),
            fallback_2k=body.get("fallback_2k", True),
        )
    except services.Invalid as exc:
        errors.update(exc.errors)
    if errors:
        return _invalid(errors)
    try:
        batch, _ = services.submit(request.user, valid, team=team, override_budget=override)
    except BudgetExceeded as exc:
        return spend_api.budget_exceeded(exc)
    rows = Generation.objects.filter(batch=batch).order_by("id")
    return api_json(
        {
            "batch": batch.pk,
            "warnings": [match.as_warning() for match in valid.warnings],
            "generations": [serializers.generation(request, row) for row in rows],
        },
        status=202,
    )


@api_view("GET", "POST")
def generations(request: HttpRequest) -> HttpResponse:
    return _create(request) if request.method == "POST" else _list(request)


# --- /generations/{id} ----------------------------------------------------------------------
def _delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Queued → canceled (the row stays, as canceled, nothing billed); otherwise hidden and
    its files removed. A running call cannot be called back: when it finishes, the worker
    sees the row is deleted and drops the files; the ledger keeps what it cost."""
    row = _get_generation_for_user(request, pk)
    if not row.can_change(request.user):
        return json_error(
            403, "forbidden", f"Generation {pk} belongs to a team-mate: you may look, not delete."
        )
    if row.status == Status.QUEUED and row.cancel():
        return HttpResponse(status=204)
    row.soft_delete()
    return HttpResponse(status=204)


@api_view("GET", "DELETE")
def generation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    if request.method == "DELETE":
        return _delete(request, pk)
    row = _get_generation_for_user(request, pk)
    return api_json(serializers.generation(request, row))


# --- /generations/{id}/image and /thumbnail -------------------------------------------------
def _serve_file(request: HttpRequest, pk: int, kind: str) -> HttpResponse:
    row = _get_generation_for_user(request, pk)
    name = (row.image if kind == "image" else row.thumbnail).name
    if row.status != Status.SUCCEEDED or not name:
        raise Http404(f"Generation {pk} has no {kind} (its status is {row.status}).")
    if settings.S3_BUCKET:
        # A short-lived signed URL: the bucket stays private and the bytes skip this server.
        response: HttpResponse = HttpResponseRedirect(default_storage.url(name))
        patch_cache_control(response, private=True, max_age=300)
        return response
    try:
        handle = default_storage.open(name, "rb")
    except FileNotFoundError as exc:
        raise Http404(f"The {kind} of generation {pk} is missing from storage.") from exc
    response = FileResponse(handle, filename=posixpath.basename(name))
    # File names are random and never reused, so the bytes behind a URL never change.
    patch_cache_control(response, private=True, max_age=86400)
    return response


@api_view("GET")
def generation_image(request: HttpRequest, pk: int) -> HttpResponse:
    return _serve_file(request, pk, "image")


@api_view("GET")
def generation_thumbnail(request: HttpRequest, pk: int) -> HttpResponse:
    return _serve_file(request, pk, "thumbnail")


# --- discovery ------------------------------------------------------------------------------
def _base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri(reverse("api:index")).rstrip("/")


@api_view("GET", authenticated=False)
def openapi_json(request: HttpRequest) -> HttpResponse:
    return api_json(openapi.build_document(_base_url(request)))


@api_view("GET", authenticated=False)
def index(request: HttpRequest) -> HttpResponse:
    base = _base_url(request)
    return api_json(
        {
            "openapi": f"{base}/openapi.json",
            "generations": f"{base}/generations",
            "authentication": "Authorization: Bearer TOKEN, or a signed-in browser session.",
        }
    )


@api_view("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", authenticated=False)
def not_found(request: HttpRequest, path: str = "") -> HttpResponse:
    # Without this an unknown API path would get the HTML login redirect or 404 page.
    raise Http404(f"No API endpoint at {request.path}. See {_base_url(request)}/openapi.json.")
