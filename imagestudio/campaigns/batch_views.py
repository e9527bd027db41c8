"""The batch page: every image of a batch (a list's rows) as a grid with its row's values,
the whole batch's progress and cost, retry-all-failed and cancel-all-queued. One poll
request per page, however large the batch: the changed tiles and the summary together."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseStopPolling

from imagestudio.campaigns import boards, delivery, marks
from imagestudio.spend.budgets import BudgetExceeded
from imagestudio.studio import changes, services
from imagestudio.studio.models import PENDING, Batch, Generation, Status
from imagestudio.web import parsing
from imagestudio.web.htmx import HtmxHttpRequest, redirect_or_client

RETRYABLE = (Status.FAILED, Status.REFUSED)


def _get_batch_for_user(request: HtmxHttpRequest, pk: int) -> Batch:
    return get_object_or_404(Batch.objects.viewable_by(request.user), pk=pk)


# What the summary counts of each row (progress(): the retried rows by prompt and values,
# the cost, when the slowest should be done) besides its state.
PROGRESS_FIELDS = ("prompt", "variables", "cost_usd", "started_at", "calling_since")


def _rows(batch: Batch, user: Any, *, counted_only: bool = False) -> Any:
    # Only what the viewer may see: a team-mate's or staff's retry into the batch is
    # theirs (their own images), not a row of this viewer's page or counts.
    rows = Generation.objects.viewable_by(user).filter(batch=batch).order_by("id")
    if counted_only:
        return rows.states(*PROGRESS_FIELDS)
    # The caller's stars and boards, for the viewer: the same queries at any size.
    return marks.with_marks(rows.tiles("variables", "prompt", "batch_id"), user)


@dataclass(frozen=True)
class Progress:
    total: int
    done: int
    succeeded: int
    failed: int
    canceled: int
    pending: int
    cost: Decimal
    finish_by: datetime | None

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 100


def _retried(rows: list[Generation]) -> set[int]:
    """Failed rows that were retried later in the batch (same prompt and row): counted
    once, by their retry."""
    later: dict[tuple[str, str], int] = {}
    for g in rows:
        key = (g.prompt, repr(sorted((g.variables or {}).items())))
        later[key] = max(later.get(key, 0), g.pk)
    return {
        g.pk
        for g in rows
        if g.status in RETRYABLE
        and later[(g.prompt, repr(sorted((g.variables or {}).items())))] != g.pk
    }


def progress(rows: list[Generation]) -> Progress:
    """The batch's figures from its rows (already loaded for the grid: no query)."""
    retried = _retried(rows)
    current = [g for g in rows if g.pk not in retried]
    pending = [g for g in current if g.status in PENDING]
    now = timezone.now()
    finish_by = None
    if pending:
        # The slowest pending image's usual upper bound, from when it started (or now).
        finish_by = max(
            (g.started_at or now) + timedelta(seconds=g.expected_seconds[1]) for g in pending
        )
    return Progress(
        total=len(current),
        done=len(current) - len(pending),
        succeeded=sum(g.status == Status.SUCCEEDED for g in current),
        failed=sum(g.status in RETRYABLE for g in current),
        canceled=sum(g.status == Status.CANCELED for g in current),
        pending=len(pending),
        cost=sum((g.cost_usd for g in rows), Decimal("0")),
        finish_by=finish_by,
    )


def _counters(request: HtmxHttpRequest, batch: Batch) -> dict[str, int]:
    """The change counters a poll token of this page holds: the batch's, the viewer's, and
    the teams' when a team is what lets the viewer see it. Read before the rows."""
    scopes = [changes.batch_scope(batch.pk), changes.user_scope(request.user.pk)]
    if batch.user_id != request.user.pk and not request.user.is_staff:
        scopes.append(changes.ACCESS_SCOPE)
    return changes.versions(scopes)


def _poll_url(
    request: HtmxHttpRequest,
    batch: Batch,
    counters: dict[str, int],
    rows: list[Generation],
    seen: dict[int, str] | None,
) -> str:
    """The poller's next URL: a token for the ids the page will send (studio.changes)."""
    if seen is None:
        sent = changes.pending_ids(rows)
    else:
        found = {g.pk for g in rows}
        sent = [f"{pk}:{status}" for pk, status in seen.items() if pk not in found]
        sent += changes.pending_ids(g for g in rows if g.pk in seen)
    path = reverse("batches:poll", args=[batch.pk])
    return changes.issue(path, request.user.pk, counters, sent)


def _summary(
    request: HtmxHttpRequest,
    batch: Batch,
    counters: dict[str, int],
    rows: list[Generation],
    seen: dict[int, str] | None = None,
) -> dict[str, Any]:
    """What the summary and the poller show, from the rows already read."""
    summary = progress(rows)
    return {
        "batch": batch,
        "progress": summary,
        "polling": summary.pending > 0,
        "poll_url": _poll_url(request, batch, counters, rows, seen),
        "can_change": batch.user_id == request.user.pk or request.user.is_staff,
    }


def _context(request: HtmxHttpRequest, batch: Batch) -> dict[str, Any]:
    counters = _counters(request, batch)
    rows = list(_rows(batch, request.user))
    for g in rows:
        values = g.variables or {}
        g.row_values = [(name, values.get(name, "")) for name in batch.columns]
    return {
        **_summary(request, batch, counters, rows),
        "tiles": rows,
        "columns": batch.columns,
        "viewer_boards": boards.viewer_boards(request.user),
    }


@require_GET
def detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    batch = _get_batch_for_user(request, pk)
    return render(request, "campaigns/batch.html", _context(request, batch))


@require_GET
def poll(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """The changed tiles and the summary, out of band; 286 once nothing is pending. While
    nothing changed, the poller's token lets UnchangedPollMiddleware answer an empty 204
    before this view runs (studio.changes)."""
    batch = _get_batch_for_user(request, pk)
    seen = {}
    for value in request.GET.getlist("ids"):
        for part in value.split(","):
            key, _sep, status = part.strip().partition(":")
            number = parsing.id_or_none(key)
            if number is not None:
                seen[number] = status
    counters = _counters(request, batch)
    # The summary needs every row, but only what it counts (a batch may have hundreds);
    # the tiles that changed are then read in full, with the viewer's marks.
    rows = list(_rows(batch, request.user, counted_only=True))
    redraw = [g.pk for g in rows if g.pk in seen and seen[g.pk] != g.tile_state]
    changed = list(_rows(batch, request.user).filter(pk__in=redraw)) if redraw else []
    drawn = {g.pk: g for g in changed}
    rows = [drawn.get(g.pk, g) for g in rows]
    context = {**_summary(request, batch, counters, rows, seen), "changed": changed}
    content = render_to_string("campaigns/batch.html#poll", context, request)
    if context["polling"]:
        return HttpResponse(content)
    return HttpResponseStopPolling(content)


@require_GET
def download(request: HtmxHttpRequest, pk: int) -> StreamingHttpResponse:
    """The batch's images as one streamed ZIP with its manifest (its rows' values too)."""
    batch = _get_batch_for_user(request, pk)
    rows = Generation.objects.viewable_by(request.user).filter(batch=batch)
    return delivery.zip_response(rows, user=request.user, filename=f"batch-{batch.pk}")


@require_POST
def retry_failed(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    batch = _get_batch_for_user(request, pk)
    rows = list(_rows(batch, request.user).filter(status__in=RETRYABLE))
    retried = _retried(list(_rows(batch, request.user)))
    wanted = [g for g in rows if g.pk not in retried and g.can_change(request.user)]
    for done, generation in enumerate(wanted):
        try:
            services.retry(Generation.objects.get(pk=generation.pk), request.user, batch=batch)
        except (services.Invalid, BudgetExceeded) as exc:
            text = exc.message if isinstance(exc, BudgetExceeded) else " ".join(exc.errors.values())
            said = {"done": done, "n": len(wanted), "reason": text}
            messages.error(request, _("Retried %(done)s of %(n)s: %(reason)s") % said)
            break
    else:
        n = len(wanted)
        messages.success(
            request,
            ngettext("%(n)s image queued again.", "%(n)s images queued again.", n) % {"n": n},
        )
    return redirect_or_client(request, reverse("batches:detail", args=[batch.pk]))


@require_POST
def cancel_queued(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    batch = _get_batch_for_user(request, pk)
    queued = Generation.objects.changeable_by(request.user).filter(
        batch=batch, status=Status.QUEUED
    )
    # Each cancel is the image's own conditional update: one already taken by a worker
    # stays running (and may be billed).
    canceled = sum(1 for g in queued if g.cancel())
    messages.success(
        request,
        ngettext(
            "%(n)s queued image canceled; nothing was billed for it.",
            "%(n)s queued images canceled; nothing was billed for them.",
            canceled,
        )
        % {"n": canceled},
    )
    return redirect_or_client(request, reverse("batches:detail", args=[batch.pk]))
