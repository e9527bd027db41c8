"""Plain functions turning rows into the API's JSON shapes (no DRF: one model, few shapes)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.urls import reverse

from imagestudio.studio.models import Generation, Kind, Status

_CENTS = Decimal("0.01")


def api_json(data: dict[str, Any], status: int = 200) -> JsonResponse:
    # Prompts are often Chinese: keep them readable in curl output rather than \u escapes.
    return JsonResponse(data, status=status, json_dumps_params={"ensure_ascii": False})


def json_error(status: int, code: str, message: str, **extra: Any) -> JsonResponse:
    """Every error has the same envelope, so a client needs one code path for all of them."""
    return api_json({"error": {"code": code, "message": message, **extra}}, status=status)


def money(value: Decimal) -> str:
    """Dollars as a string with at least 2 decimals and no trailing zeros beyond them:
    0.0300 → "0.03", 0 → "0.00", 0.0325 → "0.0325". A string, because floats lose cents."""
    normal = value.normalize()
    if normal.as_tuple().exponent > -2:
        normal = value.quantize(_CENTS)
    return f"{normal:f}"


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _file_url(request: HttpRequest, generation: Generation, kind: str) -> str | None:
    # Only ever our own endpoint: the gateway's URL is short-lived and carries its origin.
    field = generation.image if kind == "image" else generation.thumbnail
    if generation.status != Status.SUCCEEDED or not field:
        return None
    return request.build_absolute_uri(reverse(f"api:generation-{kind}", args=[generation.pk]))


def generation(request: HttpRequest, row: Generation) -> dict[str, Any]:
    """The G shape."""
    return {
        "id": row.pk,
        "batch": row.batch_id,
        "status": row.status,
        "model": row.model,
        "prompt": row.prompt,
        "size": row.size,
        "width": row.width,
        "height": row.height,
        "image_url": _file_url(request, row, "image"),
        "thumbnail_url": _file_url(request, row, "thumbnail"),
        "attempts": row.attempts,
        "fell_back_to_2k": row.fell_back_to_2k,
        "billed": row.billed,
        "cost_usd": money(row.cost_usd),
        "upstream_request_ids": row.upstream_request_ids,
        "error": (
            {"code": row.error_code, "message": row.error_message} if row.error_code else None
        ),
        "created_at": iso(row.created_at),
        "started_at": iso(row.started_at),
        "finished_at": iso(row.finished_at),
        **lineage(request, row),
    }


def lineage(request: HttpRequest, row: Generation) -> dict[str, Any]:
    """kind, parents, thread and inputs. A text-to-image row has no inputs: no query."""
    thread = row.thread_id or row.pk
    if row.kind == Kind.GENERATE:
        return {"kind": row.kind, "parents": [], "thread": thread, "reply": "", "inputs": []}
    items = sorted(row.inputs.all(), key=lambda i: i.position)
    parents: list[int] = [row.parent_id] if row.parent_id is not None else []
    for item in items:
        if item.source_id is not None and item.source_id not in parents:
            parents.append(item.source_id)
    return {
        "kind": row.kind,
        "parents": parents,
        "thread": thread,
        "reply": row.reply,
        "inputs": [
            {
                "name": item.name,
                "source": item.source_id,
                "original_name": item.original_name,
                "original_bytes": item.original_bytes,
                "sent_bytes": item.sent_bytes,
                "width": item.width,
                "height": item.height,
                "content_type": item.content_type,
                "url": request.build_absolute_uri(
                    reverse("api:generation-input", args=[row.pk, item.position])
                ),
            }
            for item in items
        ],
    }
