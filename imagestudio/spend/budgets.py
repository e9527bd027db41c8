"""Monthly budgets: reserve the expected cost of new images atomically at submit.

`reserve` runs inside the submit transaction, before the rows are written. It locks the
budget rows that apply (always in the order global, team, user, so two submits can never
wait on each other in a cycle); a concurrent submit for the same scope waits until this
transaction commits, then sees its queued rows as reserved. A queued or running
generation *is* the reservation: it stores what was held back for it at submit
(`reserved_usd`, its reference pictures counted), and once it ends its billed attempts
are what counts."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.db.models import Q, Sum
from django.utils import timezone

from imagestudio import catalog
from imagestudio.routing import chains
from imagestudio.spend import charging, messages
from imagestudio.spend.models import Attempt, Budget

ZERO = Decimal("0")
Scope = Budget.Scope
# The order every lock on budget rows takes them in (global, team, user, then by id): the
# scopes' own values sort that way. A CASE ranking them cost each billed call's alert check
# twice its time in compiling the query (2.6 ms instead of 1.4).
LOCK_ORDER = ("scope", "id")
assert sorted(Scope.values) == [Scope.GLOBAL, Scope.TEAM, Scope.USER]

# The images in progress within a scope, as (model, size, quality, how many have no
# stored reservation, the sum of those stored). The studio registers it when it starts
# (studio.apps): the studio depends on spend, never the other way round, and a queued or
# running image *is* its own reservation.
PendingCounter = Callable[[Q], Iterable[tuple[str, str, str, int, Decimal]]]
_pending: PendingCounter = lambda scope: ()  # noqa: E731


def count_pending_with(counter: PendingCounter) -> None:
    global _pending
    _pending = counter


class BudgetExceeded(Exception):
    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


def month_start(moment: datetime | None = None) -> datetime:
    moment = (moment or timezone.now()).astimezone(UTC)
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def next_month_start(moment: datetime | None = None) -> datetime:
    start = month_start(moment)
    if start.month == 12:
        return start.replace(year=start.year + 1, month=1)
    return start.replace(month=start.month + 1)


@dataclass
class Standing:
    """Where one budget stands this month."""

    budget: Budget
    used: Decimal
    reserved: Decimal

    @property
    def cap(self) -> Decimal:
        return self.budget.monthly_cap

    @property
    def remaining(self) -> Decimal:
        return max(ZERO, self.cap - self.used - self.reserved)

    @property
    def label(self) -> str:
        return _label(self.budget)


def _label(budget: Budget) -> str:
    return messages.budget_label(budget.scope, budget.team.name if budget.team else "")


def _scope_filter(budget: Budget) -> Q:
    if budget.scope == Scope.TEAM:
        return Q(team_id=budget.team_id)
    if budget.scope == Scope.USER:
        return Q(user_id=budget.user_id)
    return Q()


def standing(budget: Budget, *, now: datetime | None = None) -> Standing:
    """Billed spend this calendar month (UTC) and the expected cost of images in progress,
    within the budget's scope: two aggregate queries."""
    scope = _scope_filter(budget)
    used = spent(budget, now=now)
    reserved = sum(
        (
            held + (n * per_image(model, size, quality) if n else ZERO)
            for model, size, quality, n, held in _pending(scope)
        ),
        ZERO,
    )
    return Standing(budget, used, reserved)


def spent(budget: Budget, *, now: datetime | None = None) -> Decimal:
    """Billed spend this calendar month (UTC) within the budget's scope."""
    return (
        Attempt.objects.filter(
            _scope_filter(budget), billed=True, created_at__gte=month_start(now)
        ).aggregate(total=Sum("amount"))["total"]
        or ZERO
    )


def per_image(
    model: str,
    size: str,
    quality: str = "",
    inputs: int = 0,
    endpoint: str = catalog.GENERATIONS,
) -> Decimal:
    """What one image in progress holds back: the top of its estimate, with its `inputs`
    reference pictures, on the dearest route its fallback chain may take it to
    (routing.chains), so a rerouted or token-billed image is paid for within its budget."""
    return chains.reservation(model, size, endpoint, quality=quality, inputs=inputs)


def applicable(*, user: Any, team: Any, lock: bool = False) -> list[Budget]:
    """The budgets that apply to a submit by `user` charged to `team`, global first."""
    return _applicable(user.pk, team.pk if team is not None else None, lock=lock)


def _applicable(user_id: int, team_id: int | None, *, lock: bool = False) -> list[Budget]:
    scopes = Q(scope=Scope.GLOBAL) | Q(scope=Scope.USER, user_id=user_id)
    if team_id is not None:
        scopes |= Q(scope=Scope.TEAM, team_id=team_id)
    qs = Budget.objects.filter(scopes).select_related("team")
    if lock:
        # of=("self",): lock the budget rows only, not the joined team.
        qs = qs.select_for_update(of=("self",))
    return list(qs.order_by(*LOCK_ORDER))


def reserve(
    *,
    user: Any,
    team: Any,
    model: str,
    count: int,
    size: str = "",
    quality: str = "",
    inputs: int = 0,
    endpoint: str = catalog.GENERATIONS,
    override: bool = False,
) -> Decimal:
    """Lock the budgets that apply and refuse if `count` more images would not fit; else
    what each image holds back (the caller stores it on its rows).

    Must run inside the transaction that inserts the queued rows. An override counts
    only for those charging.may_override allows."""
    budgets = applicable(user=user, team=team, lock=True)
    each = per_image(model, size, quality, inputs, endpoint)
    if override and charging.may_override(user):
        return each
    refusal = _first_refusal(budgets, count, each)
    if refusal is not None:
        raise refusal
    return each


def check(
    *,
    user: Any,
    team: Any,
    model: str,
    count: int,
    size: str = "",
    quality: str = "",
    inputs: int = 0,
) -> BudgetExceeded | None:
    """The refusal `reserve` would raise now, without locking: for the live form hint."""
    if model not in catalog.MODELS or count < 1:
        return None
    each = per_image(model, size, quality, inputs)
    return _first_refusal(applicable(user=user, team=team), count, each)


def _first_refusal(budgets: list[Budget], count: int, each: Decimal) -> BudgetExceeded | None:
    cost = count * each
    for budget in budgets:
        state = standing(budget)
        if state.used + state.reserved + cost > state.cap:
            room = state.cap - state.used - state.reserved
            fits = int(room // each) if each > 0 and room > 0 else 0
            return _exceeded(state, count, cost, fits=min(fits, count - 1))
    return None


def raisers(limit: int = 3) -> list[str]:
    """Who can raise a budget (staff), by name, for the refusal to say whom to ask."""
    from django.contrib.auth import get_user_model

    people = get_user_model().objects.filter(is_staff=True, is_active=True).order_by("pk")
    return [u.get_full_name() or u.get_username() for u in people[:limit]]


def _exceeded(state: Standing, count: int, cost: Decimal, *, fits: int = 0) -> BudgetExceeded:
    resets_on = next_month_start().date()
    message = messages.budget_exceeded(
        label=state.label,
        cap=state.cap,
        used=state.used,
        reserved=state.reserved,
        count=count,
        cost=cost,
        resets_on=resets_on,
        fits=fits,
        raisers=raisers(),
    )
    return BudgetExceeded(
        message,
        scope=state.budget.scope,
        cap=state.cap,
        used=state.used,
        reserved=state.reserved,
        cost=cost,
        resets_on=resets_on,
        fits=fits,
    )


def hop_refusal(generation: Any) -> Budget | None:
    """The budget with no room for a running image to go on to its next route, or None.
    Its failed route's bill is in the ledger already and the image itself is still
    reserved at its dearest route, so the next route fits while a budget's spend and
    reservations stay within its cap. One query when no budget applies (the image's
    user and team by id: no fetch of either)."""
    for budget in _applicable(generation.user_id, generation.team_id):
        state = standing(budget)
        if state.used + state.reserved > state.cap:
            return budget
    return None


def overview(user: Any, team: Any = None) -> dict[str, Any]:
    """For the studio page: the user's billed spend this month and what is left of each
    budget that applies (None where unlimited)."""
    spent = (
        Attempt.objects.filter(user=user, billed=True, created_at__gte=month_start()).aggregate(
            total=Sum("amount")
        )["total"]
        or ZERO
    )
    states = {b.scope: standing(b) for b in applicable(user=user, team=team)}
    return {
        "spent": spent,
        "own": states.get(Scope.USER),
        "team": states.get(Scope.TEAM),
        "studio": states.get(Scope.GLOBAL),
        "team_obj": team,
        "resets_on": next_month_start().date(),
    }
