"""Monthly budgets: reserve the expected cost of new images atomically at submit.

`reserve` runs inside the submit transaction, before the rows are written. It locks the
budget rows that apply (always in the order global, team, user, so two submits can never
wait on each other in a cycle); a concurrent submit for the same scope waits until this
transaction commits, then sees its queued rows as reserved. Nothing is stored for a
reservation: a queued or running generation *is* the reservation, and its billed
attempts replace it as it runs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from django.db.models import Case, Count, IntegerField, Q, Sum, Value, When
from django.utils import timezone

from imagestudio import catalog

ZERO = Decimal("0")
_ORDER = Case(
    When(scope="global", then=Value(0)),
    When(scope="team", then=Value(1)),
    default=Value(2),
    output_field=IntegerField(),
)


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


def _money(amount: Decimal) -> str:
    return f"${amount:,.2f}" if amount == amount.quantize(Decimal("0.01")) else f"${amount}"


def _day(value: date) -> str:
    return f"{value.day} {value:%b %Y}"


@dataclass
class Standing:
    """Where one budget stands this month."""

    budget: object  # spend.models.Budget
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


def _label(budget) -> str:
    if budget.scope == "team":
        return f"Your team {budget.team.name}'s monthly budget"
    if budget.scope == "user":
        return "Your monthly budget"
    return "The studio's monthly budget"


def _scope_filter(budget) -> Q:
    if budget.scope == "team":
        return Q(team_id=budget.team_id)
    if budget.scope == "user":
        return Q(user_id=budget.user_id)
    return Q()


def standing(budget, *, now: datetime | None = None) -> Standing:
    """Billed spend this calendar month (UTC) and the expected cost of images in progress,
    within the budget's scope: two aggregate queries."""
    from imagestudio.spend.models import Attempt
    from imagestudio.studio.models import PENDING, Generation

    scope = _scope_filter(budget)
    used = (
        Attempt.objects.filter(scope, billed=True, created_at__gte=month_start(now)).aggregate(
            total=Sum("amount")
        )["total"]
        or ZERO
    )
    reserved = ZERO
    pending = (
        Generation.objects.filter(scope, status__in=PENDING)
        .values("model")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in pending:
        reserved += row["n"] * catalog.price(row["model"])
    return Standing(budget, used, reserved)


def applicable(*, user, team, lock: bool = False):
    """The budgets that apply to a submit by `user` charged to `team`, global first."""
    from imagestudio.spend.models import Budget

    scopes = Q(scope="global") | Q(scope="user", user_id=user.pk)
    if team is not None:
        scopes |= Q(scope="team", team_id=team.pk)
    qs = Budget.objects.filter(scopes).select_related("team")
    if lock:
        # of=("self",): lock the budget rows only, not the joined team.
        qs = qs.select_for_update(of=("self",))
    return list(qs.annotate(rank=_ORDER).order_by("rank", "id"))


def reserve(*, user, team, model: str, count: int, override: bool = False) -> None:
    """Lock the budgets that apply and refuse if `count` more images would not fit.

    Must run inside the transaction that inserts the queued rows. Only staff may
    override; a non-staff override request is ignored rather than refused."""
    budgets = applicable(user=user, team=team, lock=True)
    if override and user.is_staff:
        return
    refusal = _first_refusal(budgets, model, count)
    if refusal is not None:
        raise refusal


def check(*, user, team, model: str, count: int) -> BudgetExceeded | None:
    """The refusal `reserve` would raise now, without locking: for the live form hint."""
    if model not in catalog.MODELS or count < 1:
        return None
    return _first_refusal(applicable(user=user, team=team), model, count)


def _first_refusal(budgets: list, model: str, count: int) -> BudgetExceeded | None:
    cost = count * catalog.price(model)
    for budget in budgets:
        state = standing(budget)
        if state.used + state.reserved + cost > state.cap:
            return _exceeded(state, count, cost)
    return None


def _exceeded(state: Standing, count: int, cost: Decimal) -> BudgetExceeded:
    resets_on = next_month_start().date()
    plural = "image" if count == 1 else f"batch of {count}"
    message = (
        f"{state.label} is {_money(state.cap)}: {_money(state.used)} spent and "
        f"{_money(state.reserved)} reserved for images in progress; this {plural} "
        f"({_money(cost)}) would go over. It resets on {_day(resets_on)}."
    )
    return BudgetExceeded(
        message,
        scope=state.budget.scope,
        cap=state.cap,
        used=state.used,
        reserved=state.reserved,
        cost=cost,
        resets_on=resets_on,
    )


def overview(user, team=None) -> dict:
    """For the studio page: the user's billed spend this month and what is left of each
    budget that applies (None where unlimited)."""
    from imagestudio.spend.models import Attempt

    spent = (
        Attempt.objects.filter(user=user, billed=True, created_at__gte=month_start()).aggregate(
            total=Sum("amount")
        )["total"]
        or ZERO
    )
    states = {b.scope: standing(b) for b in applicable(user=user, team=team)}
    return {
        "spent": spent,
        "own": states.get("user"),
        "team": states.get("team"),
        "studio": states.get("global"),
        "team_obj": team,
        "resets_on": next_month_start().date(),
    }


def default_team(user):
    """The team a generation is charged to when the form does not say: the first joined."""
    membership = user.memberships.select_related("team").first()
    return membership.team if membership else None
