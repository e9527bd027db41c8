"""Campaign batches in the API: GET /batches/{id} and its download. (A POST /generations
with `preset`, `kit`, `prompts` or `template` + `rows` goes through api.requests to the
studio's one submit path, services.plan and services.send.)"""

from __future__ import annotations

from decimal import Decimal

from django.http import HttpRequest
from django.http.response import HttpResponseBase

from imagestudio.api import messages, schemas, serializers
from imagestudio.api.access import MAX_ID
from imagestudio.api.auth import api_view
from imagestudio.api.boards import zip_answer
from imagestudio.api.contract import ApiError, Reply, operation, respond
from imagestudio.campaigns import marks
from imagestudio.spend.money import decimal_str
from imagestudio.studio.models import TERMINAL, Batch, Generation, Status

BATCH_ID = {"id": {"type": "integer", "description": "A batch's id."}}


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
            Generation.objects.viewable_by(request.user)
            .filter(batch=batch)
            .prefetch_related("inputs"),
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
