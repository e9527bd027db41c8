"""Submitting images: the one submit path of the studio form and the API.

Both fill an `Ask` with what the person sent, `plan()` applies every rule to it (preset,
brand kit, list, the catalog and pre-filter checks, who pays) and `send()` creates the
jobs (one prompt, an edit, or a campaign batch). Neither the form nor the API resolves a
preset, a kit or a team by itself."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from imagestudio import catalog
from imagestudio.campaigns import lists
from imagestudio.campaigns.models import Kit
from imagestudio.prefilter import matching
from imagestudio.spend import budgets, charging
from imagestudio.spend.models import Team
from imagestudio.studio import inputs, masks, messages
from imagestudio.studio import pictures as picture_limits
from imagestudio.studio.models import (
    Batch,
    Generation,
    GenerationInput,
    Kind,
    StagedInput,
    Status,
)
from imagestudio.studio.tasks import enqueue
from imagestudio.web import files, parsing

MAX_ID = 2**63 - 1


@dataclass
class Request:
    model: str
    prompt: str
    size: str
    count: int
    fallback_2k: bool
    warnings: list[matching.Match] = field(default_factory=list)
    # The list row this prompt was filled from ({} for one prompt).
    variables: dict[str, str] = field(default_factory=dict)
    # The route's options (catalog.OPTION_FIELDS), "" where not asked for.
    quality: str = ""
    background: str = ""
    output_format: str = ""

    @property
    def options(self) -> dict[str, str]:
        return {
            "quality": self.quality,
            "background": self.background,
            "output_format": self.output_format,
        }


@dataclass
class Campaign:
    """What a batch from a list keeps besides its prompts: the template, the list's
    columns, the preset and the brand kit it was asked with."""

    template: str = ""
    columns: list[str] = field(default_factory=list)
    preset: str = ""
    kit: Any = None  # campaigns.Kit (its style goes on every image, its pictures with them)


class Invalid(Exception):
    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class StorageDown(Invalid):
    """Storage refused a picture: said next to the pictures in the browser, a 503 in the
    API (try again later), never a 500."""


class KitNotUsable(Invalid):
    """The kit asked for is not the user's nor their team's (the API answers 404)."""

    def __init__(self, errors: dict[str, str], kit: object) -> None:
        super().__init__(errors)
        self.kit = kit


def check_model(model: object, errors: dict[str, str]) -> str | None:
    """The model asked for, if the catalog has it switched on; else None and its error."""
    if not isinstance(model, str) or model not in catalog.MODELS:
        errors["model"] = messages.unknown_model([m.id for m in catalog.enabled_models()])
        return None
    if not catalog.enabled(model):
        errors["model"] = messages.model_switched_off(
            model, [m.id for m in catalog.enabled_models()]
        )
        return None
    return model


def check_size_and_options(
    model: str | None, size: object, asked: dict[str, object], errors: dict[str, str]
) -> tuple[object, dict[str, str]]:
    """The size (the model's default when not given) and the route's options asked for
    (None or "": not asked), each refused in `errors` where the model does not take it."""
    if size is None:
        size = catalog.default_size(model) if model is not None else ""
    if not isinstance(size, str):
        errors["size"] = messages.size_not_string()
    elif model is not None and not catalog.valid_size(model, size):
        if model == catalog.VIP:
            errors["size"] = messages.vip_size_invalid(size)
        elif model == catalog.ALL:
            errors["size"] = messages.all_phrasing_invalid(size)
        else:
            errors["size"] = messages.size_invalid_for(model, size)
    options: dict[str, str] = {}
    for name, value in asked.items():
        if value is None or value == "" or model is None:
            continue
        allowed = catalog.options(model, name)
        if not allowed:
            errors[name] = messages.option_not_taken(model, name)
        elif value not in allowed:
            errors[name] = messages.option_invalid(model, name, value, allowed)
        else:
            options[name] = str(value)
    if options.get("background") == "transparent" and options.get("output_format") == "jpeg":
        # A JPEG has no alpha channel: the official route refuses the pair (400), and a
        # route that took it would bill an image without the transparency asked for.
        errors["output_format"] = messages.jpeg_is_never_transparent()
    return size, options


def validate(
    *,
    model: object,
    prompt: object,
    size: object,
    count: object,
    fallback_2k: object = True,
    quality: object = None,
    background: object = None,
    output_format: object = None,
) -> Request:
    """Check a request against the catalog and the pre-filter; raise Invalid with a message
    per field, each one saying what to do. `quality`, `background` and `output_format`
    only where the route takes them (None or "": not asked for)."""
    errors: dict[str, str] = {}
    model = check_model(model, errors)

    if not isinstance(prompt, str) or not prompt.strip():
        errors["prompt"] = messages.prompt_missing()
    elif "\x00" in prompt:
        # PostgreSQL stores no NUL in text; a multipart body can carry one.
        errors["prompt"] = messages.prompt_has_nul()
    elif len(prompt) > catalog.PROMPT_MAX_CHARS:
        errors["prompt"] = messages.prompt_too_long(len(prompt), catalog.PROMPT_MAX_CHARS)

    asked = {"quality": quality, "background": background, "output_format": output_format}
    size, options = check_size_and_options(model, size, asked, errors)

    if isinstance(count, str):
        # ASCII digits only ("²".isdigit() is true, and int() refuses it): anything else
        # stays a string and is refused below as not a number.
        parsed = parsing.int_or_none(count, high=10**6)
        count = count if parsed is None else parsed
    if isinstance(count, bool) or not isinstance(count, int):
        errors["count"] = messages.count_not_number(catalog.MAX_COUNT)
    elif not 1 <= count <= catalog.MAX_COUNT:
        errors["count"] = messages.count_out_of_range(catalog.MAX_COUNT, count)

    if not isinstance(fallback_2k, bool):
        errors["fallback_2k"] = messages.fallback_not_boolean()

    warnings: list[matching.Match] = []
    if isinstance(prompt, str) and "prompt" not in errors:
        warnings = matching.check(prompt)
        blocked = [m for m in warnings if m.blocks]
        if blocked:
            errors["prompt"] = messages.prompt_blocked(
                ", ".join(t for m in blocked for t in m.terms),
                ", ".join(m.name for m in blocked),
            )

    if errors:
        raise Invalid(errors)
    # Every check above has passed, so each value has its type (mypy cannot follow that).
    assert isinstance(model, str) and isinstance(prompt, str) and isinstance(size, str)
    assert isinstance(count, int) and isinstance(fallback_2k, bool)
    return Request(
        model,
        prompt,
        size,
        count,
        fallback_2k,
        warnings,
        quality=options.get("quality", ""),
        background=options.get("background", ""),
        output_format=options.get("output_format", ""),
    )


def validate_list(
    *,
    model: object,
    size: object,
    count: object,
    fallback_2k: object,
    items: list[Any],
    field_name: str,
    quality: object = None,
    background: object = None,
    output_format: object = None,
) -> list[Request]:
    """Every prompt of a list checked as one prompt is (`items`: campaigns.lists.Item);
    a refusal names the row (1-based) in `field_name`, the field the list came in."""
    if not items:
        raise Invalid({field_name: messages.list_empty()})
    check_list_length(len(items), count, field_name)
    requests: list[Request] = []
    for number, item in enumerate(items, start=1):
        try:
            request = validate(
                model=model,
                prompt=item.prompt,
                size=size,
                count=count,
                fallback_2k=fallback_2k,
                quality=quality,
                background=background,
                output_format=output_format,
            )
        except Invalid as exc:
            row = exc.errors.pop("prompt", None)
            if row is not None and not exc.errors:
                raise Invalid({field_name: messages.list_row(number, row)}) from exc
            raise
        request.variables = dict(item.variables)
        requests.append(request)
    total = sum(r.count for r in requests)
    if total > catalog.BATCH_MAX_IMAGES:
        name = "count" if requests[0].count > 1 else field_name
        raise Invalid({name: messages.batch_too_large(len(requests), requests[0].count, total)})
    return requests


# -- the one submit path ---------------------------------------------------------------


@dataclass
class Ask:
    """What a submit asked for, as sent (a form's strings or a JSON body's values): no
    rule has been applied yet. `plan()` is the one place that applies them.

    A field the gateway takes on some routes only (quality, background, …) is added here
    and handed to `validate()` with the others, so the form and the API both get it."""

    model: object = None
    prompt: object = None
    size: object = None
    count: object = 1
    fallback_2k: object = True
    # The route's options (catalog.OPTION_FIELDS); None or "" when not asked for.
    quality: object = None
    background: object = None
    output_format: object = None
    # A built-in preset's key; "" or None for none. It sets model and size.
    preset: object = None
    # A brand kit's id (an int or the form's digit string); "" or None for none.
    kit: object = None
    # A list's prompts (lists.Item), or None for one prompt; a row's refusal is named
    # in `list_field`. `template` and `columns` are kept on the batch.
    items: list[lists.Item] | None = None
    list_field: str = "prompts"
    template: str = ""
    columns: list[str] = field(default_factory=list)
    # Who pays: a team id ("" or None: the first team joined) and staff's override.
    team: object = None
    override_budget: object = False
    # A turn made from a team image goes to that team (spend.charging).
    parent_team_id: int | None = None
    # What the caller already refused while reading a list (field → message): reported
    # as it is, and the prompt is not checked (the list is what was asked for).
    refused: dict[str, str] = field(default_factory=dict)


@dataclass
class Plan:
    """A checked submit: its requests (one, or a list's), what the batch keeps, who pays."""

    requests: list[Request]
    campaign: Campaign
    team: Team | None
    override_budget: bool

    @property
    def request(self) -> Request:
        return self.requests[0]

    @property
    def is_campaign(self) -> bool:
        """A list, a preset or a kit: one batch that keeps them (submit_batch)."""
        c = self.campaign
        return len(self.requests) > 1 or bool(c.template or c.preset) or c.kit is not None

    @property
    def warnings(self) -> list[matching.Match]:
        return [m for r in self.requests for m in r.warnings]


def usable_kit(user: Any, value: object) -> Kit | None:
    """The kit `value` names if `user` may use it (their own or their teams'), its pictures
    loaded; None when none was asked for. KitNotUsable otherwise."""
    if value is None or value == "":
        return None
    pk = value if isinstance(value, int) and not isinstance(value, bool) else None
    if isinstance(value, str):
        pk = parsing.int_or_none(value)
    kit = None
    if pk is not None and 0 < pk <= MAX_ID:
        kit = Kit.objects.usable_by(user).prefetch_related("pictures").filter(pk=pk).first()
    if kit is None:
        raise KitNotUsable({"kit": messages.kit_not_usable()}, value)
    return kit


def charge(
    user: Any, team: object, override_budget: object, errors: dict[str, str], **kw: Any
) -> tuple[Team | None, bool]:
    """The team a submit is charged to and whether it skips the budgets (spend.charging
    decides both); a refused value adds an error for its field. `kw`: parent_team_id."""
    charged: Team | None = None
    override = False
    try:
        charged = charging.charged_team(user, team, **kw)
    except charging.ChargeRefused as exc:
        errors[exc.field] = exc.message
    try:
        override = charging.override_allowed(user, override_budget)
    except charging.ChargeRefused as exc:
        errors[exc.field] = exc.message
    return charged, override


def plan(user: Any, ask: Ask) -> Plan:
    """Apply every rule to `ask`; Invalid names each bad field (KitNotUsable when the kit
    is not the user's to use).

    A kit chosen without a model takes its preset, or its own model and size, as choosing
    it in the studio form does; a preset sets model and size whatever else was sent."""
    errors: dict[str, str] = {}
    campaign = Campaign(template=ask.template, columns=list(ask.columns))
    kit_refused: KitNotUsable | None = None
    try:
        campaign.kit = usable_kit(user, ask.kit)
    except KitNotUsable as exc:
        kit_refused = exc
        errors.update(exc.errors)
    model, size, preset = ask.model, ask.size, ask.preset or ""
    kit = campaign.kit
    if kit is not None and not preset and (model is None or model == ""):
        if kit.preset:
            preset = kit.preset
        else:
            model = kit.model
            if size is None or size == "":
                size = kit.size if kit.size else None
    if preset:
        chosen = catalog.PRESETS_BY_KEY.get(preset) if isinstance(preset, str) else None
        if chosen is None:
            errors["preset"] = messages.unknown_preset(list(catalog.PRESETS_BY_KEY))
        else:
            model, size, campaign.preset = chosen.model, chosen.size, chosen.key
    team, override = charge(
        user, ask.team, ask.override_budget, errors, parent_team_id=ask.parent_team_id
    )
    requests: list[Request] = []
    try:
        if ask.refused:
            errors.update(ask.refused)
        elif ask.items is None:
            requests = [
                validate(
                    model=model,
                    prompt=ask.prompt,
                    size=size,
                    count=ask.count,
                    fallback_2k=ask.fallback_2k,
                    quality=ask.quality,
                    background=ask.background,
                    output_format=ask.output_format,
                )
            ]
        else:
            requests = validate_list(
                model=model,
                size=size,
                count=ask.count,
                fallback_2k=ask.fallback_2k,
                items=ask.items,
                field_name=ask.list_field,
                quality=ask.quality,
                background=ask.background,
                output_format=ask.output_format,
            )
    except Invalid as exc:
        errors = {**exc.errors, **errors}
    if kit_refused is not None:
        raise KitNotUsable(errors, kit_refused.kit)
    if errors:
        raise Invalid(errors)
    return Plan(requests, campaign, team, override)


def send(
    user: Any, checked: Plan, uploads: list[Upload] | None = None, *, mask: bytes | None = None
) -> tuple[Batch, list[Generation]]:
    """Create the jobs of a checked submit: a campaign batch (its kit's pictures first,
    then `uploads`), an edit of `uploads` (with `mask` over image1), or images of one
    prompt."""
    team, override = checked.team, checked.override_budget
    if mask is not None and (checked.is_campaign or not uploads):
        # A kit's pictures come first and a list repeats the edit: a mask goes with one
        # prompt's own pictures only.
        raise Invalid({masks.FIELD: masks.only_with_pictures()})
    if checked.is_campaign:
        rows = _store_inputs(uploads) if uploads else []
        try:
            return submit_batch(
                user,
                checked.requests,
                team=team,
                override_budget=override,
                campaign=checked.campaign,
                inputs=rows,
            )
        except BaseException:
            if rows and not any(u.staged is not None for u in uploads or []):
                _drop_inputs(rows)
            raise
    if uploads:
        return edit(user, checked.request, uploads, team=team, override_budget=override, mask=mask)
    return submit(user, checked.request, team=team, override_budget=override)


def check_list_length(rows: int, count: object, field_name: str) -> None:
    """Invalid when a list has more rows than a batch holds images, whatever the count:
    said before any row is read or checked (checking a huge paste row by row takes
    seconds)."""
    if rows > catalog.BATCH_MAX_IMAGES:
        per = parsing.int_or_none(str(count), low=1, high=catalog.MAX_COUNT) or 1
        raise Invalid({field_name: messages.batch_too_large(rows, per, rows * per)})


def kit_inputs(kit: Any) -> list[GenerationInput]:
    """A brand kit's pictures as unsaved inputs (image1, image2): the files are the kit's,
    shared, never deleted with an image."""
    if kit is None:
        return []
    return [
        GenerationInput(position=p.position, **p.picture())
        for p in sorted(kit.pictures.all(), key=lambda p: p.position)
    ]


def submit_batch(
    user: Any,
    requests: list[Request],
    *,
    team: Team | None = None,
    override_budget: bool = False,
    campaign: Campaign | None = None,
    inputs: list[GenerationInput] | None = None,
) -> tuple[Batch, list[Generation]]:
    """A batch of many prompts (a list), `count` images each, in one transaction with one
    budget reservation for all of them. A kit's pictures (and `inputs` staged in the form,
    after them) make every image an edit of those pictures; its style is kept on each."""
    campaign = campaign or Campaign()
    kit = campaign.kit
    pictures = kit_inputs(kit) + [
        GenerationInput(position=len(kit_inputs(kit)) + i.position, **i.picture())
        for i in inputs or []
    ]
    limit = picture_limits.limit(requests[0].model)
    if len(pictures) > limit:
        raise Invalid({"images": messages.too_many_pictures(len(pictures), limit)})
    first = requests[0]
    kind = Kind.EDIT if pictures else Kind.GENERATE
    with transaction.atomic():
        held = budgets.reserve(
            user=user,
            team=team,
            model=first.model,
            count=sum(r.count for r in requests),
            size=first.size,
            quality=first.quality,
            inputs=len(pictures),
            endpoint=catalog.EDITS if pictures else catalog.GENERATIONS,
            override=override_budget,
        )
        batch = Batch.objects.create(
            user=user,
            team=team,
            template=campaign.template,
            columns=campaign.columns,
            preset=campaign.preset,
            kit=kit,
        )
        generations = Generation.objects.bulk_create(
            Generation(
                user=user,
                batch=batch,
                team=team,
                kind=kind,
                model=r.model,
                prompt=r.prompt,
                size=r.size,
                size_tier=catalog.size_tier(r.model, r.size),
                fallback_2k=r.fallback_2k,
                **r.options,
                variables=r.variables,
                style=kit.style if kit is not None else "",
                kit=kit,
                reserved_usd=held,
            )
            for r in requests
            for _ in range(r.count)
        )
        if pictures:
            GenerationInput.objects.bulk_create(
                GenerationInput(generation=g, position=i.position, **i.picture())
                for g in generations
                for i in pictures
            )
        enqueue([g.pk for g in generations])
    return batch, generations


def submit(
    user: Any,
    request: Request,
    *,
    team: Team | None = None,
    override_budget: bool = False,
    kind: str = Kind.GENERATE,
    parent: Generation | None = None,
    thread: Generation | None = None,
    inputs: list[GenerationInput] | None = None,
    batch: Batch | None = None,
    style: str = "",
    kit: Any = None,
) -> tuple[Batch, list[Generation]]:
    """One row per image, committed before any task is sent (into `batch` when given: a
    retry from the batch page stays on it, with its row's style and kit).

    The budget reservation runs in the same transaction as the inserts, so two submits
    racing for the last dollars are serialised by the budget row locks. `inputs` are
    unsaved GenerationInput rows whose files are already on storage (saved outside this
    transaction: storage writes are slow); each image of the batch gets a copy."""
    tier = catalog.size_tier(request.model, request.size)
    endpoints = {Kind.EDIT.value: catalog.EDITS, Kind.CHAT.value: catalog.CHAT}
    endpoint = endpoints.get(str(kind), catalog.GENERATIONS)
    if not catalog.accepts_endpoint(request.model, endpoint):
        raise Invalid({"model": messages.model_not_on_endpoint(request.model)})
    # A mask painted over image1 is not a reference picture (Generation.input_count).
    pictures = sum(1 for i in inputs or [] if i.position != GenerationInput.MASK_POSITION)
    with transaction.atomic():
        held = budgets.reserve(
            user=user,
            team=team,
            model=request.model,
            count=request.count,
            size=request.size,
            quality=request.quality,
            inputs=pictures,
            endpoint=endpoint,
            override=override_budget,
        )
        if batch is None:
            batch = Batch.objects.create(user=user, team=team)
        generations = Generation.objects.bulk_create(
            Generation(
                user=user,
                batch=batch,
                team=team,
                kind=kind,
                parent=parent,
                thread=thread,
                model=request.model,
                prompt=request.prompt,
                size=request.size,
                size_tier=tier,
                fallback_2k=request.fallback_2k,
                **request.options,
                variables=request.variables,
                style=style,
                kit=kit,
                reserved_usd=held,
            )
            for _ in range(request.count)
        )
        if inputs:
            GenerationInput.objects.bulk_create(
                GenerationInput(generation=g, position=i.position, **i.picture())
                for g in generations
                for i in inputs
            )
        enqueue([g.pk for g in generations])
    return batch, generations


def retry(
    generation: Generation, user: Any, *, batch: Batch | None = None
) -> tuple[Batch, list[Generation]]:
    """Ask again with the same request: a new image in a new batch (the old one stays), or
    in `batch` (the batch page's "retry all failed"). Its list row, style and kit go along.

    Validated again: a term an admin blocked since the first try must not slip through.
    The new image is charged to whoever pressed Retry."""
    request = validate(
        model=generation.model,
        prompt=generation.prompt,
        size=generation.size,
        count=1,
        fallback_2k=generation.fallback_2k,
        quality=generation.quality,
        background=generation.background,
        output_format=generation.output_format,
    )
    request.variables = dict(generation.variables or {})
    # The same team as the first try while the user is in it, else their own first team.
    team = charging.charged_team(user, parent_team_id=generation.team_id)
    style, kit = generation.style, generation.kit
    if generation.kind == Kind.GENERATE:
        return submit(user, request, team=team, batch=batch, style=style, kit=kit)
    # An edit or a turn is repeated with the very inputs it sent (they are on storage).
    return submit(
        user,
        request,
        team=team,
        kind=generation.kind,
        parent=generation.parent,
        thread=generation.thread,
        inputs=list(generation.inputs.all()),
        batch=batch,
        style=style,
        kit=kit,
    )


# -- edits and conversation turns ------------------------------------------------------


@dataclass
class Upload:
    """A picture for an edit: an uploaded file's bytes, or a gallery image (its source)."""

    data: bytes
    name: str = ""
    source: Generation | None = None
    # Already compressed and stored from the studio form: used as it is.
    staged: StagedInput | None = None


def _store_inputs(uploads: list[Upload]) -> list[GenerationInput]:
    """Validate, compress and store each input; unsaved rows pointing at the files.

    Slow (Pillow, storage): outside any transaction. Raises Invalid naming the picture."""
    staged = [u.staged for u in uploads if u.staged is not None]
    if len(staged) == len(uploads):
        # Staged files are shared with the staged rows: never deleted on failure here.
        return [
            GenerationInput(position=number, **item.picture())
            for number, item in enumerate(staged, start=1)
        ]
    prepared = []
    for number, upload in enumerate(uploads, start=1):
        try:
            prepared.append(inputs.prepare(upload.data, upload.name or f"image{number}"))
        except inputs.InputRejected as exc:
            raise Invalid({"images": messages.picture_refused(number, str(exc))}) from exc
    rows: list[GenerationInput] = []
    try:
        for number, (upload, item) in enumerate(zip(uploads, prepared, strict=True), start=1):
            fields = _save_picture(item, upload.name, upload.source)
            rows.append(GenerationInput(position=number, **fields))
    except Exception:
        _drop_inputs(rows)
        raise
    return rows


def _save_picture(item: inputs.PreparedInput, name: str, source: Generation | None) -> dict:
    """Write a prepared picture to storage; the InputPicture fields that describe it."""
    try:
        stored = files.save_upload(
            f"inputs/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.{item.extension}", item.data
        )
    except files.StorageRefused as exc:
        raise StorageDown({"images": messages.upload_storage_refused()}) from exc
    return {
        "source": source,
        "original_name": (name or "").replace("\x00", "")[:200],
        "original_bytes": item.original_bytes,
        "file": stored,
        "content_type": item.content_type,
        "sent_bytes": item.sent_bytes,
        "width": item.width,
        "height": item.height,
    }


def _drop_inputs(rows: list[GenerationInput]) -> None:
    for row in rows:
        if row.file.name:
            default_storage.delete(row.file.name)


def _source_bytes(source: Generation) -> bytes:
    if source.status != Status.SUCCEEDED or not source.image:
        raise Invalid({"images": messages.no_picture_to_edit(source.pk)})
    with source.image.open("rb") as fh:
        return fh.read()


def _check_mask_route(model: str, mask: bytes | None) -> None:
    if mask is not None and not masks.takes_mask(model):
        raise Invalid({masks.FIELD: masks.not_taken(model)})


def _store_mask(data: bytes, first: Upload, first_row: GenerationInput) -> GenerationInput:
    """Check the mask against image1 (as the caller had it, or as it is sent) and store the
    copy that is sent. Raises Invalid naming `mask`."""
    original = masks.picture_size(first.data) if first.staged is None and first.data else None
    try:
        item = masks.prepare(data, sent=(first_row.width, first_row.height), original=original)
    except masks.MaskRejected as exc:
        raise Invalid({masks.FIELD: str(exc)}) from exc
    fields = _save_picture(item, item.original_name, None)
    return GenerationInput(position=GenerationInput.MASK_POSITION, **fields)


def edit(
    user: Any,
    request: Request,
    uploads: list[Upload],
    *,
    team: Team | None = None,
    override_budget: bool = False,
    mask: bytes | None = None,
) -> tuple[Batch, list[Generation]]:
    """Edit or fuse pictures: `request.count` images from the same inputs.

    The first gallery picture among the inputs is the parent, and the new images join its
    thread; an edit of uploads only starts a thread of its own. `mask` (PNG bytes) marks
    the area of image1 the model may change, on a route that takes one."""
    _check_mask_route(request.model, mask)
    if not uploads:
        if mask is not None:
            raise Invalid({masks.FIELD: masks.only_with_pictures()})
        raise Invalid({"images": messages.add_a_picture()})
    limit = picture_limits.limit(request.model)
    if len(uploads) > limit:
        raise Invalid({"images": messages.too_many_pictures(len(uploads), limit)})
    staged = [u for u in uploads if u.staged is not None]
    if staged and len(staged) != len(uploads):
        raise ValueError("mix of staged and raw uploads")
    for upload in uploads:
        if upload.staged is None and upload.source is not None and not upload.data:
            upload.data = _source_bytes(upload.source)
            upload.name = upload.name or f"#{upload.source.pk}"
    rows = _store_inputs(uploads)
    parent = next((r.source for r in rows if r.source is not None), None)
    mask_rows: list[GenerationInput] = []
    try:
        if mask is not None:
            mask_rows.append(_store_mask(mask, uploads[0], rows[0]))
        return submit(
            user,
            request,
            team=team,
            override_budget=override_budget,
            kind=Kind.EDIT,
            parent=parent,
            thread=_thread_of(parent),
            inputs=rows + mask_rows,
        )
    except BaseException:
        # Nothing was created: the stored inputs belong to nobody (staged ones stay
        # with the form).
        _drop_inputs(mask_rows if staged else rows + mask_rows)
        raise


def stage(user, data: bytes, name: str = "", source: Generation | None = None) -> StagedInput:
    """Compress and store one picture for the studio form, before Generate is pressed.

    Raises Invalid (field `images`) with the reason when the picture cannot be used."""
    if source is not None:
        data, name = _source_bytes(source), name or f"#{source.pk}"
    try:
        item = inputs.prepare(data, name)
    except inputs.InputRejected as exc:
        raise Invalid({"images": str(exc)}) from exc
    return StagedInput.objects.create(user=user, **_save_picture(item, name, source))


def _thread_of(parent: Generation | None) -> Generation | None:
    if parent is None:
        return None
    return parent.thread or parent


def iterate(
    user: Any,
    parent: Generation,
    prompt: object,
    *,
    team: Team | None = None,
    override_budget: bool = False,
    mask: bytes | None = None,
) -> tuple[Batch, list[Generation]]:
    """The next turn of a conversation: `prompt` applied to `parent`'s image, sent with
    the thread's earlier turns. Same model and size as the parent. The caller resolves
    `team` with charging.charged_team(..., parent_team_id=parent.team_id).

    With a `mask` painted over the image, the turn is an edit of that area instead (the
    chat endpoint takes no mask); so is every turn on a route without a chat endpoint
    (gpt-image-2.6-all, gpt-image-2): an edit of the whole image with the new prompt, at
    the parent's quality, background and file format. It still joins the thread."""
    _check_mask_route(parent.model, mask)
    by_chat = mask is None and catalog.accepts_endpoint(parent.model, catalog.CHAT)
    output_format = parent.output_format
    if parent.background == "transparent" and output_format == "jpeg":
        # Asked before that pair was refused: the turn keeps the transparency, and the
        # turn's form has no file format to change.
        output_format = ""
    request = validate(
        model=parent.model,
        prompt=prompt,
        size=parent.size,
        count=1,
        fallback_2k=parent.fallback_2k,
        quality=parent.quality,
        background=parent.background,
        output_format=output_format,
    )
    upload = Upload(_source_bytes(parent), f"#{parent.pk}", parent)
    rows = _store_inputs([upload])
    try:
        if mask is not None:
            rows.append(_store_mask(mask, upload, rows[0]))
        return submit(
            user,
            request,
            team=team,
            override_budget=override_budget,
            kind=Kind.CHAT if by_chat else Kind.EDIT,
            parent=parent,
            thread=_thread_of(parent),
            inputs=rows,
        )
    except BaseException:
        _drop_inputs(rows)
        raise
