"""The JSON API for edits: `POST /edits` (multipart), `POST /generations/{id}/iterate`, and
the pictures an edit sent.

Picture order: a prompt says "the logo from image2", so which picture is image2 matters.
Django parses a multipart body into two dicts (fields, files) and does not say how parts of
the two interleaved; rather than read that from the parser's private state, the order is
named: `image1`, `image2`, … (each a file or a gallery id). The older `image` files or
`source` ids keep their order within their own kind, so either alone still works; the two
mixed are refused with a pointer to the numbered names instead of being guessed."""

from __future__ import annotations

import re

from django.core.exceptions import RequestDataTooBig, TooManyFilesSent
from django.http import HttpRequest
from django.http.multipartparser import MultiPartParserError
from django.http.response import HttpResponseBase

from imagestudio.api import idempotency, messages, requests, schemas, serializers
from imagestudio.api import spend as spend_api
from imagestudio.api.access import MAX_ID, visible_generation, visible_generations
from imagestudio.api.auth import api_view
from imagestudio.api.contract import (
    ApiError,
    Reply,
    invalid,
    json_object,
    operation,
    parse,
    respond,
    storage_down_reply,
)
from imagestudio.api.views import (
    ACCEPTED,
    BUDGET,
    ID,
    INVALID,
    NOT_YOURS,
    REUSED_KEY,
    TOO_LARGE,
)
from imagestudio.spend.budgets import BudgetExceeded
from imagestudio.studio import masks, pictures, services
from imagestudio.studio.models import Status
from imagestudio.web import files, parsing
from imagestudio.web import messages as web_messages

_LEGACY_FILES = ("image", "image[]")
_NUMBERED = re.compile(r"image([1-9][0-9]{0,2})")


def _source(request: HttpRequest, raw: str, field: str) -> services.Upload:
    """A gallery image the caller may see and that has finished, as an edit input."""
    raw = raw.strip()
    pk = parsing.int_or_none(raw)
    if pk is None:
        if field == "source":
            raise invalid({field: messages.not_a_generation_id(raw)})
        raise invalid({field: messages.numbered_not_a_generation_id(field, raw)})
    row = visible_generations(request).filter(pk=pk).first() if pk <= MAX_ID else None
    if row is None:
        raise invalid({field: messages.no_image_you_can_see(raw)})
    if row.status != Status.SUCCEEDED:
        raise invalid({field: messages.source_not_finished(raw, row.status)})
    return services.Upload(b"", "", row)


def _pictures(request: HttpRequest) -> list[services.Upload]:
    """The pictures in their order: image1, image2, … (see the module doc)."""
    post, uploaded = request.POST, request.FILES
    numbered = sorted(
        {int(m[1]) for name in [*post, *uploaded] if (m := _NUMBERED.fullmatch(name))}
    )
    legacy_files = [f for name in _LEGACY_FILES for f in uploaded.getlist(name)]
    legacy_sources = post.getlist("source")
    if numbered and (legacy_files or legacy_sources):
        raise invalid({"image": messages.mixed_naming()})
    if legacy_files and legacy_sources:
        raise invalid({"image": messages.mixed_files_and_sources()})
    if not numbered:
        uploads = [services.Upload(f.read(), f.name or "") for f in legacy_files]
        return uploads + [_source(request, raw, "source") for raw in legacy_sources]
    uploads = []
    for expected, number in enumerate(numbered, start=1):
        if number != expected:
            raise invalid({"image": messages.numbering_gap(f"image{expected}", f"image{number}")})
        name = f"image{number}"
        item = uploaded.get(name)
        if item is not None:
            uploads.append(services.Upload(item.read(), item.name or name))
        else:
            uploads.append(_source(request, post.get(name, ""), name))
    return uploads


@operation(
    "POST",
    "/edits",
    operation_id="createEdits",
    summary="Edit or fuse 1 to 16 pictures, as many as the model takes (GET /models: "
    "4 on the reverse routes, 16 on gpt-image-2), uploads and/or gallery images, optionally "
    "only the area of image1 a `mask` leaves transparent.",
    body=schemas.EditForm,
    body_content_type="multipart/form-data",
    header_parameters=idempotency.PARAMETER,
    responses={
        202: ACCEPTED,
        400: Reply(
            "Invalid request or picture (error.field names it), or a body that is not "
            "multipart/form-data (bad_request).",
            schemas.Error,
        ),
        402: BUDGET,
        409: REUSED_KEY,
        413: TOO_LARGE,
        503: storage_down_reply(schemas.Error),
    },
)
def create_edits(request: HttpRequest) -> HttpResponseBase:
    if request.content_type != "multipart/form-data":
        raise ApiError(400, "bad_request", messages.send_multipart())
    try:
        form = request.POST.dict()
        uploads = _pictures(request)
        posted_mask = request.FILES.get(masks.FIELD)
        mask = posted_mask.read() if posted_mask is not None else None
    except RequestDataTooBig as exc:
        raise ApiError(413, "too_large", messages.body_too_large()) from exc
    except TooManyFilesSent as exc:
        raise invalid({"image": messages.at_most_pictures(pictures.most())}) from exc
    except MultiPartParserError as exc:
        # Django's own answer would be its HTML 400 page.
        raise ApiError(400, "bad_request", web_messages.body_malformed()) from exc
    parsed = parse(schemas.EditForm, form)
    errors = {**parsed.type_errors(), **parsed.errors}
    if not uploads:
        errors["image"] = messages.add_a_picture()
    # Charged as the studio form charges an edit: the team asked for, else the first joined
    # (a team-mate's gallery image as input does not make its team pay).
    return idempotency.once(
        request,
        "edits",
        lambda: requests.submit(
            request, requests.ask_from(parsed.values), errors, uploads, mask=mask
        ),
    )


@operation(
    "POST",
    "/generations/{id}/iterate",
    operation_id="iterateGeneration",
    summary="The next conversation turn on this finished image (a team-mate's too: the new "
    "version is the caller's own); on a route without a chat endpoint, an edit of the image "
    "with the new prompt at its quality, background and output_format.",
    path_parameters=ID,
    body=schemas.IterateRequest,
    header_parameters=idempotency.PARAMETER,
    responses={
        202: Reply("Queued: one generation, the turn.", schemas.CreateResponse),
        400: INVALID,
        402: BUDGET,
        404: Reply(NOT_YOURS),
        409: Reply(
            "not_finished: the image has not succeeded, so there is nothing to edit; "
            + REUSED_KEY.description,
            schemas.Error,
        ),
        413: TOO_LARGE,
    },
)
def iterate_generation(request: HttpRequest, pk: int) -> HttpResponseBase:
    return idempotency.once(request, "iterate", lambda: _iterate(request, pk))


def _iterate(request: HttpRequest, pk: int) -> HttpResponseBase:
    """The next turn of the conversation `pk` belongs to, starting from `pk`'s image."""
    parent = visible_generation(request, pk)
    parsed = parse(schemas.IterateRequest, json_object(request))
    if parent.status != Status.SUCCEEDED or not parent.image:
        raise ApiError(409, "not_finished", messages.not_finished(pk, parent.status))
    values = parsed.values
    # Every field's words come from its rule's owner: charging here, services for the prompt.
    errors: dict[str, str] = {}
    team, override = services.charge(
        request.user,
        values["team"],
        values["override_budget"],
        errors,
        parent_team_id=parent.team_id,
    )
    if errors:
        raise invalid(errors)
    try:
        batch, _ = services.iterate(
            request.user, parent, values["prompt"], team=team, override_budget=override
        )
    except services.Invalid as exc:
        raise invalid(exc.errors) from exc
    except BudgetExceeded as exc:
        raise spend_api.budget_exceeded(exc) from exc
    return respond(serializers.batch_answer(request, batch, []), status=202)


@operation(
    "GET",
    "/generations/{id}/inputs/{position}",
    operation_id="getGenerationInput",
    summary="The compressed picture an edit sent as image{position}; position 0 is its "
    "mask, when it had one.",
    path_parameters={**ID, "position": {"type": "integer", "minimum": 0}},
    responses={
        200: Reply("The picture as sent.", content_type="image/*"),
        302: Reply("With S3 storage: a short-lived signed URL to the file.", content_type=""),
        404: Reply(NOT_YOURS + " Or no such input, or its file is gone."),
    },
)
def get_generation_input(request: HttpRequest, pk: int, position: int) -> HttpResponseBase:
    row = visible_generation(request, pk)
    item = row.inputs.filter(position=position).first()
    if item is None:
        raise ApiError(404, "not_found", messages.no_input(pk, position))
    return files.serve(
        item.file.name,
        content_type=item.content_type,
        missing=messages.input_missing(pk, position),
    )


edits = api_view(create_edits)
iterate = api_view(iterate_generation)
generation_input = api_view(get_generation_input)
