"""Brand kits: the one home of what a kit may hold and of saving it, for the kit pages and
the API alike (each turns `KitInvalid.errors` into its own way of showing them).

A kit's pictures are stored like edit inputs and never deleted with the kit or when they
are replaced: every image made with the kit shares the stored file (its GenerationInput
names it), so the file must outlive the kit."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from imagestudio import catalog
from imagestudio.campaigns import lists
from imagestudio.campaigns.models import Kit, KitPicture, may_change_team
from imagestudio.spend import teams as spend_teams
from imagestudio.studio import inputs
from imagestudio.studio import messages as studio_messages
from imagestudio.web import files

NAME_MAX_CHARS = Kit._meta.get_field("name").max_length or 100
STYLE_MAX_CHARS = 2_000
TEMPLATE_MAX_CHARS = 4_000


class KitInvalid(ValueError):
    """field → message; the field names are the form's and the API's."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


@dataclass(frozen=True)
class KitFields:
    name: str
    team_id: int | None
    model: str
    size: str
    preset: str
    style: str
    template: str

    def apply(self, kit: Kit) -> None:
        kit.name, kit.team_id, kit.model = self.name, self.team_id, self.model
        kit.size, kit.preset, kit.style, kit.template = (
            self.size,
            self.preset,
            self.style,
            self.template,
        )


@dataclass(frozen=True)
class Picture:
    """An uploaded reference picture: its bytes and the name it came with."""

    data: bytes
    name: str


def team_choices(user: Any) -> list[tuple[int, str]]:
    """The teams `user` may save a kit for (staff: every team)."""
    return [(t.pk, t.name) for t in spend_teams.teams_for(user)]


def clean(
    user: Any,
    *,
    name: str,
    team_id: int | None,
    model: str,
    size: str,
    preset: str,
    style: str,
    template: str,
    kit: Kit | None = None,
) -> KitFields:
    """The kit's fields as they will be saved, or KitInvalid naming every bad field. A
    preset decides model and size (its own, whatever else was sent). `kit`: the kit being
    changed (only its creator or staff may change its team)."""
    errors: dict[str, str] = {}
    if kit is not None and team_id != kit.team_id and not may_change_team(user, kit):
        errors["team"] = _("Only the kit's creator or staff can change whom it is shared with.")
    name = name.strip()
    if not name:
        errors["name"] = _("Give the kit a name.")
    elif len(name) > NAME_MAX_CHARS:
        errors["name"] = _("A kit's name is at most %(n)s characters.") % {"n": NAME_MAX_CHARS}
    if team_id is not None and team_id not in {pk for pk, _name in team_choices(user)}:
        errors["team"] = _("You can only save a kit for a team you are in.")
    if preset:
        chosen = catalog.PRESETS_BY_KEY.get(preset)
        if chosen is None:
            errors["preset"] = _("Unknown preset %(key)s; choose one of: %(keys)s.") % {
                "key": preset,
                "keys": ", ".join(catalog.PRESETS_BY_KEY),
            }
        else:
            model, size = chosen.model, chosen.size
    if model not in catalog.MODELS:
        errors["model"] = _("Choose a model: %(models)s.") % {"models": ", ".join(catalog.MODELS)}
    elif size and not catalog.valid_size(model, size):
        errors["size"] = _("%(model)s has no size %(size)s.") % {"model": model, "size": size}
    style = style.strip()
    if len(style) > STYLE_MAX_CHARS:
        errors["style"] = _("The style is at most %(n)s characters.") % {"n": STYLE_MAX_CHARS}
    template = template.strip()
    if len(template) > TEMPLATE_MAX_CHARS:
        errors["template"] = _("The template is at most %(n)s characters.") % {
            "n": TEMPLATE_MAX_CHARS
        }
    elif template:
        try:
            lists.placeholders(template)
        except lists.ListInvalid as exc:
            errors["template"] = exc.message
    if errors:
        raise KitInvalid(errors)
    return KitFields(name, team_id, model, size, preset, style, template)


def _prepared(pictures: list[Picture]) -> list[inputs.PreparedInput]:
    if len(pictures) > catalog.KIT_MAX_PICTURES:
        raise KitInvalid(
            {"image": _("A kit holds at most %(n)s pictures.") % {"n": catalog.KIT_MAX_PICTURES}}
        )
    prepared = []
    for number, picture in enumerate(pictures, start=1):
        try:
            prepared.append(inputs.prepare(picture.data, picture.name or f"image{number}"))
        except inputs.InputRejected as exc:
            raise KitInvalid({"image": str(exc)}) from exc
    return prepared


class KitStorageDown(KitInvalid):
    """Storage refused a picture: a field error in the browser, a 503 in the API."""


def _store(item: inputs.PreparedInput) -> str:
    try:
        return files.save_upload(
            f"inputs/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.{item.extension}", item.data
        )
    except files.StorageRefused as exc:
        raise KitStorageDown({"image": studio_messages.upload_storage_refused()}) from exc


def save(
    user: Any, fields: KitFields, pictures: list[Picture] | None, kit: Kit | None = None
) -> Kit:
    """Create (kit=None) or update a kit; `pictures`, when given, replace the kit's (an
    empty list removes them). Pictures are checked and written to storage before the
    transaction (slow I/O outside it); if the transaction fails, the files it would have
    named are removed (nothing else can name them yet). Replaced pictures' files stay:
    images made with the kit share them."""
    prepared = _prepared(pictures) if pictures is not None else None
    names = [p.name for p in pictures or []]
    stored = [(item, _store(item), name) for item, name in zip(prepared or [], names, strict=True)]
    try:
        return _write(user, fields, stored if prepared is not None else None, kit)
    except Exception:
        for _item, file_name, _name in stored:
            default_storage.delete(file_name)
        raise


def _write(
    user: Any,
    fields: KitFields,
    stored: list[tuple[inputs.PreparedInput, str, str]] | None,
    kit: Kit | None,
) -> Kit:
    with transaction.atomic():
        if kit is None:
            kit = Kit(created_by=user)
        else:
            kit = Kit.objects.select_for_update().get(pk=kit.pk)
        fields.apply(kit)
        kit.save()
        if stored is not None:
            kit.pictures.all().delete()
            KitPicture.objects.bulk_create(
                KitPicture(
                    kit=kit,
                    position=position,
                    source=None,
                    original_name=(name or "").replace("\x00", "")[:200],
                    original_bytes=item.original_bytes,
                    file=file_name,
                    content_type=item.content_type,
                    sent_bytes=item.sent_bytes,
                    width=item.width,
                    height=item.height,
                )
                for position, (item, file_name, name) in enumerate(stored, start=1)
            )
    return kit
