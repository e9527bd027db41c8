"""The one writer of ledger rows: every attempt at the gateway, billed or not.

Callers (the studio's state machine) call `record` inside the transaction that changes
the image's status, so the row and the change it explains commit together."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from imagestudio import catalog
from imagestudio.spend import alerts, messages
from imagestudio.spend.models import Attempt
from imagestudio.upstream.types import AttemptRecord, FailureCode, Outcome

ZERO = Decimal("0")
REQUEST_ID_CHARS = 200
ERROR_CODE_CHARS = 80


def amount(record: AttemptRecord) -> Decimal:
    """What the gateway bills for this attempt (never the client's own arithmetic): the
    model's price per call, or a token route's usage × its prices (the top of its range
    when the answer had no usage), when the outcome is billed; else nothing."""
    return _cost(record)[0]


def _cost(record: AttemptRecord) -> tuple[Decimal, bool]:
    return catalog.attempt_cost(
        record.model,
        billed=record.billed,
        size=record.size_sent,
        quality=record.quality,
        inputs=record.inputs,
        text_tokens=record.text_tokens,
        image_tokens=record.image_tokens,
        output_tokens=record.output_tokens,
    )


def request_id(record: AttemptRecord) -> str:
    """The gateway's request id as stored: whitespace removed, bounded."""
    return "".join(record.request_id.split())[:REQUEST_ID_CHARS]


def record(
    attempt: AttemptRecord,
    *,
    generation_id: int | None,
    user_id: int,
    team_id: int | None,
    size_asked: str,
    gateway_amount: Decimal | None = None,
) -> Attempt:
    """Append one attempt. `gateway_amount` is for a call only the gateway's own log
    knew of (reconcile): the ledger takes the gateway's word for what it billed.

    The size tier is the one actually sent (a 4K call that fell
    back to 2K is billed and reported as 2K), or the one asked for when nothing says.

    A call the sweep already billed as lost (its worker missed its heartbeats, then came
    back with the answer) is written with its real outcome but not billed a second time:
    the gateway billed it once. The caller holds the generation's row lock, so the sweep
    and a late worker cannot both miss each other's row."""
    if attempt.billed and generation_id is not None and attempt.outcome != Outcome.LOST:
        already = Attempt.objects.filter(
            generation_id=generation_id, number=attempt.number, outcome=Outcome.LOST, billed=True
        )
        if already.exists():
            attempt = replace(
                attempt,
                billed=False,
                amount=ZERO,
                note=messages.BILLED_AS_LOST,
                note_params={},
            )
    cost, usage_missing = _cost(attempt)
    row = Attempt.objects.create(
        generation_id=generation_id,
        user_id=user_id,
        team_id=team_id,
        number=attempt.number,
        model=attempt.model,
        endpoint=attempt.endpoint,
        size_sent=attempt.size_sent,
        size_tier=catalog.size_tier(attempt.model, attempt.size_sent or size_asked),
        http_status=attempt.http_status,
        request_id=request_id(attempt),
        latency_ms=attempt.latency_ms,
        outcome=attempt.outcome,
        billed=attempt.billed,
        amount=cost if gateway_amount is None else gateway_amount,
        error_code=attempt.error_code[:ERROR_CODE_CHARS],
        error_message=attempt.error_message,
        note=attempt.note,
        note_params=attempt.note_params,
        quality=attempt.quality,
        text_tokens=attempt.text_tokens,
        image_tokens=attempt.image_tokens,
        output_tokens=attempt.output_tokens,
        usage_missing=usage_missing and attempt.billed,
    )
    if row.billed:
        # In this transaction: the spend and the alert it may set off commit together.
        alerts.after_spend(user_id=user_id, team_id=team_id)
    return row


def found_in_log(*, model: str, endpoint: str, request_id: str, latency_ms: int) -> AttemptRecord:
    """A call the gateway's log billed and the studio never wrote down (its worker died
    unseen, or something else used the key): billed, as lost, with the gateway's id."""
    return AttemptRecord(
        number=1,
        endpoint=endpoint[:40],
        model=model[:40],
        size_sent="",
        http_status=None,
        request_id=request_id,
        latency_ms=max(0, latency_ms),
        outcome=Outcome.LOST,
        billed=True,
        amount=ZERO,
        error_code=FailureCode.WORKER_LOST,
        note=messages.FOUND_IN_LOG,
    )


def lost_call(
    *,
    number: int,
    model: str,
    endpoint: str,
    size_sent: str,
    latency_ms: int,
    quality: str = "",
    inputs: int = 0,
) -> AttemptRecord:
    """The attempt a worker died in the middle of: the gateway bills a client that went
    away, so it is billed at the model's price (a token route: the top of its range); it
    has no status and no request id."""
    return AttemptRecord(
        number=number,
        endpoint=endpoint,
        model=model,
        size_sent=size_sent,
        http_status=None,
        request_id="",
        latency_ms=max(0, latency_ms),
        outcome=Outcome.LOST,
        billed=True,
        amount=catalog.attempt_cost(
            model, billed=True, size=size_sent, quality=quality, inputs=inputs
        )[0],
        error_code=FailureCode.WORKER_LOST,
        quality=quality,
        inputs=inputs,
        note=messages.WORKER_STOPPED,
    )
