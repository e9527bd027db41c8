"""Monthly budgets: reserve the expected cost of new images atomically at submit.

Placeholder until the budgets work lands: `reserve` is called inside the submit
transaction, before the rows are written, and raises BudgetExceeded to refuse."""

from __future__ import annotations

from decimal import Decimal


class BudgetExceeded(Exception):
    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


def reserve(*, user, team, model: str, count: int, override: bool = False) -> None:
    """Lock the budgets that apply and refuse if `count` more images would not fit."""
    del user, team, model, count, override


def default_team(user):
    """The team a generation is charged to when the form does not say: the first joined."""
    membership = user.memberships.select_related("team").first()
    return membership.team if membership else None


ZERO = Decimal("0")
