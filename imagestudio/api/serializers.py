"""Rows into the API's response models (schemas.py): G and the 202 batch answer."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.http import HttpRequest
from django.urls import reverse

from imagestudio.api import schemas
from imagestudio.campaigns import marks
from imagestudio.prefilter.matching import Match
from imagestudio.routing import hops
from imagestudio.routing.hops import Hop
from imagestudio.spend.money import decimal_str
from imagestudio.studio.models import Batch, Generation, Kind, Status


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _file_url(request: HttpRequest, generation: Generation, kind: str) -> str | None:
    # Only ever our own endpoint: the gateway's URL is short-lived and carries its origin.
    field = generation.image if kind == "image" else generation.thumbnail
    if generation.status != Status.SUCCEEDED or not field:
        return None
    return request.build_absolute_uri(reverse(f"api:generation-{kind}", args=[generation.pk]))


def _hop(stored: dict) -> schemas.Hop:
    hop = Hop.from_dict(stored)
    return schemas.Hop(
        route=hop.route,
        outcome=hop.outcome,
        attempts=hop.attempts,
        cost_usd=decimal_str(hop.cost_usd),
        http_status=hop.http_status,
        size=hop.size or None,
        reason=hops.reason(stored),
    )


def _usage(row: Generation) -> schemas.Usage | None:
    if row.output_tokens is None and not row.usage_missing:
        return None
    return schemas.Usage(
        text_input_tokens=row.text_tokens or 0,
        image_input_tokens=row.image_tokens or 0,
        output_tokens=row.output_tokens or 0,
        missing=row.usage_missing,
    )


def generation(request: HttpRequest, row: Generation) -> schemas.Generation:
    """The G shape. A text-to-image row has no inputs: no query for them."""
    thread = row.thread_id or row.pk
    items = (
        []
        if row.kind == Kind.GENERATE
        else sorted(row.inputs.all(), key=lambda i: (i.is_mask, i.position))
    )
    parents: list[int] = [row.parent_id] if row.parent_id is not None else []
    for item in items:
        if item.source_id is not None and item.source_id not in parents:
            parents.append(item.source_id)
    return schemas.Generation(
        id=row.pk,
        batch=row.batch_id,
        status=row.status,
        model=row.model,
        prompt=row.prompt,
        size=row.size,
        width=row.width,
        height=row.height,
        image_url=_file_url(request, row, "image"),
        thumbnail_url=_file_url(request, row, "thumbnail"),
        attempts=row.attempts,
        fell_back_to_2k=row.fell_back_to_2k,
        route=row.route or None,
        hops=[_hop(h) for h in row.hops],
        billed=row.billed,
        cost_usd=decimal_str(row.cost_usd),
        usage=_usage(row),
        quality=row.quality or None,
        background=row.background or None,
        output_format=row.output_format or None,
        upstream_request_ids=row.upstream_request_ids,
        error=(
            schemas.GenerationError(code=row.error_code, message=row.error_message)
            if row.error_code
            else None
        ),
        created_at=row.created_at.isoformat(),
        started_at=iso(row.started_at),
        finished_at=iso(row.finished_at),
        kind=row.kind,
        parents=parents,
        thread=thread,
        reply=row.reply if row.kind != Kind.GENERATE else "",
        inputs=[
            schemas.InputPicture(
                name=item.name,
                source=item.source_id,
                original_name=item.original_name,
                original_bytes=item.original_bytes,
                sent_bytes=item.sent_bytes,
                width=item.width,
                height=item.height,
                content_type=item.content_type,
                url=request.build_absolute_uri(
                    reverse("api:generation-input", args=[row.pk, item.position])
                ),
            )
            for item in items
        ],
        variables={str(k): str(v) for k, v in (row.variables or {}).items()},
        prompt_sent=row.prompt_sent,
        kit=row.kit_id,
        starred=marks.starred(row, getattr(request, "user", None)),
        boards=marks.board_ids(row, getattr(request, "user", None)),
    )


def batch_answer(
    request: HttpRequest, batch: Batch, warnings: Iterable[Match]
) -> schemas.CreateResponse:
    """The 202 of every submit: the batch, its pre-filter warnings and its rows."""
    rows = marks.with_marks(
        Generation.objects.filter(batch=batch).prefetch_related("inputs").order_by("id"),
        request.user,
    )
    return schemas.CreateResponse(
        batch=batch.pk,
        warnings=[schemas.PromptWarning(**match.as_warning()) for match in warnings],
        generations=[generation(request, row) for row in rows],
    )
