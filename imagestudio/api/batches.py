"""Campaign batches in the API: what POST /generations does with `preset`, `kit`, `prompts`
or `template` + `rows` (the studio form's list, by the same rules: campaigns.lists and
services.validate_list), and GET /batches/{id}."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from django.http.response import HttpResponseBase

from imagestudio import catalog
from imagestudio.api import messages, schemas, serializers
from imagestudio.api.access import MAX_ID
from imagestudio.api.auth import api_view
from imagestudio.api.boards import zip_answer
from imagestudio.api.contract import ApiError, Reply, operation, respond
from imagestudio.campaigns import lists, marks
from imagestudio.campaigns.models import Kit
from imagestudio.spend.money import decimal_str
from imagestudio.studio import services
from imagestudio.studio.models import TERMINAL, Batch, Generation, Status

BATCH_ID = {"id": {"type": "integer", "description": "A batch's id."}}


def is_campaign(values: dict[str, Any]) -> bool:
    """A request the plain one-prompt path does not cover."""
    return any(values.get(k) is not None for k in ("prompts", "template", "rows", "preset", "kit"))


def _kit(request: HttpRequest, pk: object) -> Kit | None:
    if pk is None:
        return None
    row = (
        Kit.objects.usable_by(request.user).prefetch_related("pictures").filter(pk=pk).first()
        if isinstance(pk, int) and 0 < pk <= MAX_ID
        else None
    )
    if row is None:
        raise ApiError(404, "not_found", messages.no_such_kit(pk))
    return row


def _items(values: dict[str, Any], campaign: services.Campaign) -> tuple[list[lists.Item], str]:
    """The list's items and the field a row's refusal is named in."""
    if values.get("prompts") is not None:
        return [lists.Item(p) for p in values["prompts"]], "prompts"
    if values.get("template") is not None or values.get("rows") is not None:
        template, rows = values.get("template") or "", values.get("rows") or []
        if not template.strip():
            raise lists.ListInvalid("template", messages.template_needed())
        if not rows:
            raise lists.ListInvalid("rows", messages.rows_needed())
        columns = list(dict.fromkeys(name for row in rows for name in row))
        table = lists.Table(columns, [{c: row.get(c, "") for c in columns} for row in rows])
        campaign.template, campaign.columns = template.strip(), columns
        return lists.from_template(template.strip(), table), "rows"
    return [lists.Item(values.get("prompt") or "")], "prompt"


def campaign_request(
    request: HttpRequest, values: dict[str, Any], errors: dict[str, str]
) -> tuple[list[services.Request], services.Campaign] | None:
    """The requests of a campaign POST, or None with each bad field in `errors`."""
    campaign = services.Campaign(kit=_kit(request, values.get("kit")))
    preset = values.get("preset")
    if preset is not None:
        chosen = catalog.PRESETS_BY_KEY.get(preset)
        if chosen is None:
            errors["preset"] = messages.unknown_preset(list(catalog.PRESETS_BY_KEY))
        else:
            values["model"], values["size"], campaign.preset = chosen.model, chosen.size, preset
    sent = [k for k in ("prompt", "prompts", "template") if values.get(k) is not None]
    if len(sent) > 1:
        errors[sent[1]] = messages.one_kind_of_prompt()
    if errors:
        return None
    try:
        items, field = _items(values, campaign)
        requests = services.validate_list(
            model=values["model"],
            size=values["size"],
            count=values["count"],
            fallback_2k=values["fallback_2k"],
            items=items,
            field_name=field,
            quality=values.get("quality"),
            background=values.get("background"),
            output_format=values.get("output_format"),
        )
    except lists.ListInvalid as exc:
        errors[exc.field] = exc.message
        return None
    except services.Invalid as exc:
        errors.update(exc.errors)
        return None
    return requests, campaign


def _counts(rows: list[Generation]) -> dict[str, int]:
    by = {s: sum(g.status == s for g in rows) for s in Status.values}
    return {
        "total": len(rows),
        "done": sum(g.status in TERMINAL for g in rows),
        "succeeded": by[Status.SUCCEEDED],
        "failed": by[Status.FAILED],
        "refused": by[Status.REFUSED],
        "canceled": by[Status.CANCELED],
    }


def _get_batch(request: HttpRequest, pk: int) -> Batch:
    batch = (
        Batch.objects.viewable_by(request.user).filter(pk=pk).first() if 0 < pk <= MAX_ID else None
    )
    if batch is None:
        raise ApiError(404, "not_found", messages.no_such_batch(pk))
    return batch


@operation(
    "GET",
    "/batches/{id}",
    operation_id="getBatch",
    summary="A batch: its progress, its cost and its images (a list's rows, in order).",
    path_parameters=BATCH_ID,
    responses={
        200: Reply("The batch.", schemas.BatchDetail),
        404: Reply("No such batch, or not the caller's or their team's.", schemas.Error),
    },
)
def get_batch(request: HttpRequest, pk: int) -> HttpResponseBase:
    batch = _get_batch(request, pk)
    rows = list(
        marks.with_marks(
            Generation.objects.visible().filter(batch=batch).prefetch_related("inputs"),
            request.user,
        ).order_by("id")
    )
    return respond(
        schemas.BatchDetail(
            id=batch.pk,
            created_at=batch.created_at.isoformat(),
            template=batch.template,
            columns=list(batch.columns or []),
            preset=batch.preset,
            kit=batch.kit_id,
            cost_usd=decimal_str(sum((g.cost_usd for g in rows), Decimal("0"))),
            generations=[serializers.generation(request, g) for g in rows],
            **_counts(rows),
        )
    )


@operation(
    "GET",
    "/batches/{id}/download",
    operation_id="downloadBatch",
    summary="The batch's finished images as one ZIP (streamed) with manifest.csv.",
    path_parameters=BATCH_ID,
    responses={
        200: Reply("The ZIP archive.", content_type="application/zip"),
        404: Reply("No such batch, or not the caller's or their team's.", schemas.Error),
    },
)
def download_batch(request: HttpRequest, pk: int) -> HttpResponseBase:
    batch = _get_batch(request, pk)
    rows = Generation.objects.viewable_by(request.user).filter(batch=batch)
    return zip_answer(rows, user=request.user, filename=f"batch-{batch.pk}")


batch_detail = api_view(get_batch)
batch_download = api_view(download_batch)
