"""/api/v1/presets (the built-in deliverables) and /api/v1/kits (brand kits): the kit pages'
rules (campaigns.kits) said in JSON. A kit the caller may not use is a 404, as an image of
someone else's is."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.utils.translation import gettext

from imagestudio import catalog
from imagestudio.api import messages, schemas
from imagestudio.api.access import MAX_ID
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
    storage_down_reply,
)
from imagestudio.campaigns import kits
from imagestudio.campaigns.models import Kit
from imagestudio.web import files

KIT_ID = {"id": {"type": "integer", "description": "A kit's id."}}
INVALID = Reply("Invalid request: error.field names the first bad field.", schemas.Error)
NO_KIT = Reply("No such kit, or not yours or your team's.", schemas.Error)
TOO_LARGE = Reply("too_large: the request body is over the size limit.", schemas.Error)
FIELDS = ("name", "team", "preset", "model", "size", "style", "template", "image")


# --- presets -------------------------------------------------------------------------------
@operation(
    "GET",
    "/presets",
    operation_id="listPresets",
    summary="The built-in deliverables: what an image is for sets its model and size.",
    responses={200: Reply("Every built-in preset.", schemas.PresetList)},
)
def list_presets(request: HttpRequest) -> HttpResponseBase:
    return respond(
        schemas.PresetList(
            results=[
                schemas.Preset(
                    key=p.key,
                    label=gettext(p.label),
                    model=p.model,
                    size=p.size,
                    for_=gettext(p.for_),
                )
                for p in catalog.PRESETS
            ]
        )
    )


# --- kits ----------------------------------------------------------------------------------
def _usable(request: HttpRequest) -> Any:
    return Kit.objects.usable_by(request.user).prefetch_related("pictures")


def _get_kit_for_user(request: HttpRequest, pk: int) -> Kit:
    row = _usable(request).filter(pk=pk).first() if 0 < pk <= MAX_ID else None
    if row is None:
        raise ApiError(404, "not_found", messages.no_such_kit(pk))
    return row


def _kit(request: HttpRequest, row: Kit) -> schemas.Kit:
    return schemas.Kit(
        id=row.pk,
        name=row.name,
        team=row.team_id,
        created_by=row.created_by_id,
        model=row.model,
        size=row.size,
        preset=row.preset,
        style=row.style,
        template=row.template,
        pictures=[
            schemas.KitPictureOut(
                position=p.position,
                original_name=p.original_name,
                width=p.width,
                height=p.height,
                content_type=p.content_type,
                url=request.build_absolute_uri(
                    reverse("api:kit-picture", args=[row.pk, p.position])
                ),
            )
            for p in row.pictures.all()
        ],
        created_at=row.created_at.isoformat(),
        updated_at=row.updated_at.isoformat(),
    )


def _clean(request: HttpRequest, values: dict[str, Any], kit: Kit | None = None) -> kits.KitFields:
    try:
        return kits.clean(
            request.user,
            name=values["name"],
            team_id=values["team"],
            model=values["model"] or catalog.VIP,
            size=values["size"],
            preset=values["preset"],
            style=values["style"],
            template=values["template"],
            kit=kit,
        )
    except kits.KitInvalid as exc:
        raise invalid(exc.errors, FIELDS) from exc


def _save(
    request: HttpRequest,
    fields: kits.KitFields,
    pictures: list[kits.Picture] | None,
    kit: Kit | None,
) -> Kit:
    try:
        saved = kits.save(request.user, fields, pictures, kit)
    except kits.KitStorageDown as exc:
        raise ApiError(503, "storage_unavailable", exc.errors["image"]) from exc
    except kits.KitInvalid as exc:
        raise invalid(exc.errors, FIELDS) from exc
    return Kit.objects.prefetch_related("pictures").get(pk=saved.pk)


@operation(
    "GET",
    "/kits",
    operation_id="listKits",
    summary="The brand kits the caller may use: their own and their teams' (staff: all).",
    responses={200: Reply("The kits, by name.", schemas.KitList)},
)
def list_kits(request: HttpRequest) -> HttpResponseBase:
    return respond(schemas.KitList(results=[_kit(request, row) for row in _usable(request)]))


@operation(
    "POST",
    "/kits",
    operation_id="createKit",
    summary="Save a brand kit for one of the caller's teams, or for themselves. JSON, or "
    "multipart/form-data with up to 2 `image` files (its reference pictures).",
    body=schemas.KitCreate,
    responses={
        201: Reply("The new kit.", schemas.Kit),
        400: INVALID,
        413: TOO_LARGE,
        503: storage_down_reply(schemas.Error),
    },
)
def create_kit(request: HttpRequest) -> HttpResponseBase:
    pictures: list[kits.Picture] = []
    if request.content_type == "multipart/form-data":
        data: dict[str, Any] = request.POST.dict()
        pictures = [kits.Picture(f.read(), f.name or "") for f in request.FILES.getlist("image")]
        unknown = set(request.FILES) - {"image"}
        if unknown:
            raise invalid({name: messages.not_a_field(name) for name in sorted(unknown)})
    else:
        data = json_object(request)
    fields = _clean(request, body_values(schemas.KitCreate, data, FIELDS))
    return respond(_kit(request, _save(request, fields, pictures, None)), status=201)


@operation(
    "GET",
    "/kits/{id}",
    operation_id="getKit",
    summary="One brand kit.",
    path_parameters=KIT_ID,
    responses={200: Reply("The kit.", schemas.Kit), 404: NO_KIT},
)
def get_kit(request: HttpRequest, pk: int) -> HttpResponseBase:
    return respond(_kit(request, _get_kit_for_user(request, pk)))


@operation(
    "PATCH",
    "/kits/{id}",
    operation_id="updateKit",
    summary="Change a kit's fields (any member of its team may); its pictures stay.",
    path_parameters=KIT_ID,
    body=schemas.KitUpdate,
    responses={
        200: Reply("The kit as saved.", schemas.Kit),
        400: INVALID,
        404: NO_KIT,
        413: TOO_LARGE,
        503: storage_down_reply(schemas.Error),
    },
)
def update_kit(request: HttpRequest, pk: int) -> HttpResponseBase:
    kit = _get_kit_for_user(request, pk)
    sent = body_values(schemas.KitUpdate, json_object(request), FIELDS)
    current = {
        "name": kit.name,
        "team": kit.team_id,
        "model": kit.model,
        "size": kit.size,
        "preset": kit.preset,
        "style": kit.style,
        "template": kit.template,
    }
    body = json_object(request)
    # An absent field keeps its value; "team": null makes the kit the caller's own.
    values = {name: (sent[name] if name in body else value) for name, value in current.items()}
    for name in ("name", "size", "preset", "style", "template"):
        values[name] = values[name] or ""
    if ("model" in body or "size" in body) and "preset" not in body:
        values["preset"] = ""  # chosen by hand now: the preset no longer describes it
    fields = _clean(request, values, kit)
    return respond(_kit(request, _save(request, fields, None, kit)))


@operation(
    "DELETE",
    "/kits/{id}",
    operation_id="deleteKit",
    summary="Delete a kit (any member of its team may). Images made with it keep what they "
    "were sent.",
    path_parameters=KIT_ID,
    responses={204: Reply("Deleted."), 404: NO_KIT},
)
def delete_kit(request: HttpRequest, pk: int) -> HttpResponseBase:
    _get_kit_for_user(request, pk).delete()
    return no_content()


@operation(
    "GET",
    "/kits/{id}/pictures/{position}",
    operation_id="getKitPicture",
    summary="A kit's reference picture, as it is sent.",
    path_parameters={**KIT_ID, "position": {"type": "integer", "minimum": 1}},
    responses={
        200: Reply("The picture.", content_type="image/*"),
        302: Reply("With S3 storage: a short-lived signed URL to the file.", content_type=""),
        404: Reply("No such kit or picture.", schemas.Error),
    },
)
def get_kit_picture(request: HttpRequest, pk: int, position: int) -> HttpResponseBase:
    kit = _get_kit_for_user(request, pk)
    picture = next((p for p in kit.pictures.all() if p.position == position), None)
    if picture is None:
        raise ApiError(404, "not_found", messages.no_kit_picture(pk, position))
    return files.serve(
        picture.file.name,
        content_type=picture.content_type,
        missing=messages.no_kit_picture(pk, position),
    )


presets = api_view(list_presets)
kit_collection = api_view(list_kits, create_kit)
kit_detail = api_view(get_kit, update_kit, delete_kit)
kit_picture = api_view(get_kit_picture)
