"""The JSON API for edits: `POST /edits` (multipart) and `POST /generations/{id}/iterate`."""

from __future__ import annotations

import posixpath

from django.core.exceptions import RequestDataTooBig, TooManyFilesSent
from django.core.files.storage import default_storage
from django.core.files.uploadhandler import FileUploadHandler
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParser

from imagestudio import catalog
from imagestudio.api import serializers
from imagestudio.api import spend as spend_api
from imagestudio.api.auth import api_view
from imagestudio.api.serializers import api_json, json_error
from imagestudio.api.views import _get_generation_for_user, _invalid, _json_object
from imagestudio.spend.budgets import BudgetExceeded
from imagestudio.studio import services
from imagestudio.studio.models import Batch, Generation, Status

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}
_FILE_FIELDS = ("image", "image[]")


def _accepted(request: HttpRequest, batch: Batch, warnings) -> HttpResponse:
    rows = Generation.objects.filter(batch=batch).prefetch_related("inputs").order_by("id")
    return api_json(
        {
            "batch": batch.pk,
            "warnings": [match.as_warning() for match in warnings],
            "generations": [serializers.generation(request, row) for row in rows],
        },
        status=202,
    )


def _flag(value: str | None, default: bool) -> bool | str:
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    return value  # validate() names it


class _OrderRecorder(FileUploadHandler):
    """Notes, as each file part starts, how many `source` fields came before it: Django
    splits a multipart body into fields and files, and the order across the two is what
    makes a picture image1 or image2. Passes every byte on to the real handlers."""

    def __init__(self, request: HttpRequest, parser_ref: list[MultiPartParser]) -> None:
        super().__init__(request)
        self.parser_ref = parser_ref
        self.files_after: list[int] = []

    def new_file(self, field_name, *args, **kwargs) -> None:  # noqa: ANN001
        super().new_file(field_name, *args, **kwargs)
        if field_name in _FILE_FIELDS and self.parser_ref:
            # The parser fills its POST dict as it goes; a private attribute, so guarded.
            seen = getattr(self.parser_ref[0], "_post", None)
            self.files_after.append(len(seen.getlist("source")) if seen is not None else 0)

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


def _parse(request: HttpRequest) -> list[str]:
    """Parse the body; return 'file' / 'source' for each input part, in body order."""
    parser_ref: list[MultiPartParser] = []
    recorder = _OrderRecorder(request, parser_ref)
    handlers = [recorder, *request.upload_handlers]
    parser = MultiPartParser(request.META, request, handlers, request.encoding)
    parser_ref.append(parser)
    request._post, request._files = parser.parse()
    sources = len(request._post.getlist("source"))
    order: list[str] = []
    taken = 0
    for before in recorder.files_after:
        order += ["source"] * (before - taken) + ["file"]
        taken = before
    return order + ["source"] * (sources - taken)


def _ordered_uploads(
    request: HttpRequest, parts: list[str]
) -> list[services.Upload] | HttpResponse:
    """`image` files and `source` ids in the order they were sent: image1, image2, …"""
    files = iter([f for name in _FILE_FIELDS for f in request.FILES.getlist(name)])
    sources = iter(request.POST.getlist("source"))
    uploads: list[services.Upload] = []
    for kind in parts:
        if kind == "file":
            item = next(files, None)
            if item is not None:
                uploads.append(services.Upload(item.read(), item.name or ""))
            continue
        raw = next(sources, None)
        if raw is None:
            continue
        raw = raw.strip()
        if not raw.isdigit():
            return _invalid({"source": f"source {raw!r} is not a generation id."})
        try:
            row = _get_generation_for_user(request, int(raw))
        except Http404:
            return _invalid({"source": f"There is no image {raw} that you can see."})
        if row.status != Status.SUCCEEDED:
            return _invalid(
                {"source": f"Image {raw} is {row.status}: only finished images can be edited."}
            )
        uploads.append(services.Upload(b"", "", row))
    return uploads


@api_view("POST")
def edits(request: HttpRequest) -> HttpResponse:
    if request.content_type != "multipart/form-data":
        return json_error(
            400,
            "bad_request",
            "Send an edit as multipart/form-data: fields model, prompt, size (optional), "
            "fallback_2k (optional), and one or more `image` files and/or `source` ids.",
        )
    try:
        order = _parse(request)
    except RequestDataTooBig:
        return json_error(413, "too_large", "The request body is too large.")
    except TooManyFilesSent:
        return _invalid({"image": f"Send at most {catalog.MAX_INPUTS} pictures."})
    uploads = _ordered_uploads(request, order)
    if isinstance(uploads, HttpResponse):
        return uploads
    post = request.POST
    errors: dict[str, str] = {}
    charge = {
        "team": post.get("team") or None,
        "override_budget": _flag(post.get("override_budget"), False),
    }
    team, override = spend_api.charge(request.user, charge, errors, form_fields=True)
    try:
        valid = services.validate(
            model=post.get("model"),
            prompt=post.get("prompt"),
            size=post.get("size") or None,
            count=post.get("count", "1"),
            fallback_2k=_flag(post.get("fallback_2k"), True),
        )
    except services.Invalid as exc:
        errors.update(exc.errors)
    if not uploads:
        errors["image"] = "Add at least one picture: an `image` file or a `source` id."
    if errors:
        return _invalid(errors)
    try:
        batch, _ = services.edit(request.user, valid, uploads, team=team, override_budget=override)
    except services.Invalid as exc:
        return _invalid({("image" if k == "images" else k): v for k, v in exc.errors.items()})
    except BudgetExceeded as exc:
        return spend_api.budget_exceeded(exc)
    return _accepted(request, batch, valid.warnings)


@api_view("POST")
def iterate(request: HttpRequest, pk: int) -> HttpResponse:
    """The next turn of the conversation `pk` belongs to, starting from `pk`'s image."""
    parent = _get_generation_for_user(request, pk)
    body = _json_object(request)
    if isinstance(body, HttpResponse):
        return body
    if parent.status != Status.SUCCEEDED or not parent.image:
        return json_error(
            409,
            "not_finished",
            f"Generation {pk} is {parent.status}: only a finished image can be iterated on.",
        )
    errors: dict[str, str] = {}
    team, override = spend_api.charge(request.user, body, errors, parent_team_id=parent.team_id)
    if errors:
        return _invalid(errors)
    try:
        batch, _ = services.iterate(
            request.user, parent, body.get("prompt"), team=team, override_budget=override
        )
    except services.Invalid as exc:
        return _invalid(exc.errors)
    except BudgetExceeded as exc:
        return spend_api.budget_exceeded(exc)
    return _accepted(request, batch, [])


@api_view("GET")
def generation_input(request: HttpRequest, pk: int, position: int) -> HttpResponse:
    """The compressed picture an edit sent as image{position}."""
    row = _get_generation_for_user(request, pk)
    item = row.inputs.filter(position=position).first()
    if item is None:
        raise Http404(f"Generation {pk} has no input image{position}.")
    try:
        handle = default_storage.open(item.file.name, "rb")
    except FileNotFoundError as exc:
        raise Http404(f"Input image{position} of generation {pk} is missing.") from exc
    return FileResponse(handle, filename=posixpath.basename(item.file.name))
