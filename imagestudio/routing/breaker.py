"""The half-open circuit breaker of each route (model × size tier).

closed → open when, over the route's last `window_calls` counted calls since it last
closed, fewer than `min_success_rate` made an image; open → probing once its cool-down
is over and one request claims the probe (a conditional UPDATE: exactly one worker, of
any process, wins it); probing → closed when the probe makes an image, → open again when
it fails. A probe whose worker died is claimed again after the route's timeout. The
state is a database row, so every web and worker process sees the same breaker."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from imagestudio.routing import health
from imagestudio.routing.models import Chain, Circuit
from imagestudio.spend.models import Attempt
from imagestudio.upstream.types import Outcome

State = Circuit.State
# How long a probe may take before another request may probe instead: longer than any
# route's timeout, so a slow probe is not doubled.
PROBE_LEASE = timedelta(seconds=900)


class Admission(enum.Enum):
    GO = "go"
    PROBE = "probe"  # this request is the one try of a route that was failing
    SKIP = "skip"


def _enabled(chain: Chain | None) -> bool:
    return chain is not None and chain.min_success_rate > 0


def admit(model: str, tier: str, chain: Chain | None, *, now: datetime | None = None) -> Admission:
    """Whether a request may go to this route now."""
    if not _enabled(chain):
        return Admission.GO
    assert chain is not None
    now = now or timezone.now()
    circuit = Circuit.objects.filter(model=model, tier=tier).first()
    if circuit is None or circuit.state == State.CLOSED:
        return Admission.GO
    if circuit.state == State.OPEN:
        due = circuit.changed_at + timedelta(seconds=chain.cool_down_s)
    else:
        due = circuit.changed_at + PROBE_LEASE
    if now < due:
        return Admission.SKIP
    claimed = Circuit.objects.filter(
        pk=circuit.pk, state=circuit.state, changed_at=circuit.changed_at
    ).update(state=State.PROBING, changed_at=now)
    return Admission.PROBE if claimed else Admission.SKIP


def observe(
    model: str,
    tier: str,
    chain: Chain | None,
    outcome: str,
    *,
    probe: bool,
    now: datetime | None = None,
) -> None:
    """After a route's call, before its final attempt is in the ledger (its earlier
    retries are): move the route's breaker if the outcome says so."""
    if not _enabled(chain):
        return
    assert chain is not None
    now = now or timezone.now()
    if outcome not in health.COUNTED:
        if probe:
            # It said nothing about the route (a refused prompt): let the next request probe.
            _set(model, tier, State.OPEN, now - timedelta(seconds=chain.cool_down_s))
        return
    if probe:
        _set(model, tier, State.CLOSED if outcome in health.SUCCESS else State.OPEN, now)
        return
    if outcome in health.SUCCESS:
        return
    circuit = Circuit.objects.filter(model=model, tier=tier).first()
    if circuit is not None and circuit.state != State.CLOSED:
        return
    since = circuit.changed_at if circuit is not None else None
    recent = Attempt.objects.filter(model=model, size_tier=tier, outcome__in=health.COUNTED)
    if since is not None:
        recent = recent.filter(created_at__gte=since)
    # This call's own last attempt is written after the breaker is asked (with the image's
    # status change), so it is counted here and the ledger gives the calls before it.
    outcomes = [outcome] + list(
        recent.order_by("-created_at", "-id").values_list("outcome", flat=True)[
            : chain.window_calls - 1
        ]
    )
    if len(outcomes) < chain.window_calls:
        return
    succeeded = sum(1 for o in outcomes if o == Outcome.IMAGE)
    if succeeded < chain.min_success_rate * len(outcomes):
        _open_if_closed(model, tier, circuit, now)


def _open_if_closed(model: str, tier: str, circuit: Circuit | None, now: datetime) -> None:
    if circuit is None:
        try:
            with transaction.atomic():
                Circuit.objects.create(model=model, tier=tier, state=State.OPEN, changed_at=now)
            return
        except IntegrityError:
            pass  # another worker created it meanwhile: open it below if still closed
    Circuit.objects.filter(model=model, tier=tier, state=State.CLOSED).update(
        state=State.OPEN, changed_at=now
    )


def _set(model: str, tier: str, state: str, now: datetime) -> None:
    Circuit.objects.update_or_create(
        model=model, tier=tier, defaults={"state": state, "changed_at": now}
    )


def state_of(model: str, tier: str) -> str:
    circuit = Circuit.objects.filter(model=model, tier=tier).first()
    return circuit.state if circuit is not None else State.CLOSED
