"""One image's way through its routes: what each route tried did, as stored on the image
(`Generation.hops`) and said on its tile, its page and in the API."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from imagestudio.routing import messages
from imagestudio.spend import ledger
from imagestudio.spend.messages import budget_label
from imagestudio.upstream.types import (
    AttemptRecord,
    FailureCode,
    GenerationResult,
    Outcome,
    UpstreamFailure,
)

SKIPPED = "skipped"
# A next route that was not taken: a budget had no room, it costs more than the route
# asked for and staff did not allow that, or it does not make the size asked for.
OVER_BUDGET = "over_budget"
NOT_ALLOWED = "dearer_not_allowed"
SIZE_NOT_MADE = "size_not_made"
NOT_TAKEN = frozenset({OVER_BUDGET, NOT_ALLOWED, SIZE_NOT_MADE})
# How a route that said no ends: never rerouted, so said as a refusal, not a failure.
REFUSALS = frozenset(
    {Outcome.REJECTED.value, Outcome.CONTENT_POLICY.value, Outcome.SOFT_REFUSAL.value}
)
# The gateway errors another route may well not have: a bad gateway, an overloaded or
# unavailable route, a gateway timeout, and our own read timeout.
REROUTABLE_STATUSES = frozenset({502, 503, 504})
NEVER_REROUTED = frozenset({FailureCode.CONTENT_POLICY, FailureCode.MODERATION})


@dataclass(frozen=True)
class Hop:
    route: str
    outcome: str
    attempts: int
    cost_usd: Decimal
    http_status: int | None = None
    # The budget that had no room (OVER_BUDGET): its scope and, for a team's, the team.
    budget: str = ""
    team: str = ""
    # The size the route does not make (SIZE_NOT_MADE), or the one it was sent instead
    # of the size asked for (staff's chain allows a size change).
    size: str = ""

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "route": self.route,
            "outcome": self.outcome,
            "attempts": self.attempts,
            "cost_usd": str(self.cost_usd),
            "http_status": self.http_status,
        }
        if self.budget:
            data.update(budget=self.budget, team=self.team)
        if self.size:
            data.update(size=self.size)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Hop:
        return cls(
            route=str(data.get("route", "")),
            outcome=str(data.get("outcome", "")),
            attempts=int(data.get("attempts", 0)),
            cost_usd=Decimal(str(data.get("cost_usd", "0"))),
            http_status=data.get("http_status"),
            budget=str(data.get("budget", "")),
            team=str(data.get("team", "")),
            size=str(data.get("size", "")),
        )


def tried(route: str, result: GenerationResult, size: str = "") -> Hop:
    """A route's call, from the attempts the client made (each one its own ledger row);
    `size`: the size it was sent instead of the one asked for, if any."""
    records = result.attempts or [result.final_attempt]
    return Hop(
        route=route,
        outcome=str(result.final_attempt.outcome),
        attempts=len(records),
        cost_usd=sum((ledger.amount(r) for r in records), Decimal("0")),
        http_status=result.final_attempt.http_status,
        size=size,
    )


def skipped(route: str) -> Hop:
    return Hop(route=route, outcome=SKIPPED, attempts=0, cost_usd=Decimal("0"))


def over_budget(route: str, budget: Any) -> Hop:
    """`budget`: the spend Budget that had no room for this route."""
    team = budget.team.name if budget.team_id is not None else ""
    return Hop(route, OVER_BUDGET, 0, Decimal("0"), budget=budget.scope, team=team)


def not_allowed(route: str) -> Hop:
    return Hop(route, NOT_ALLOWED, 0, Decimal("0"))


def size_not_made(route: str, size: str) -> Hop:
    return Hop(route, SIZE_NOT_MADE, 0, Decimal("0"), size=size)


def not_taken(plan: Any, size: str) -> list[dict[str, Any]]:
    """The fallbacks of `plan` (routing.chains.Plan) left out of it, each with why: said
    once the routes it did take have all failed."""
    left_out = [not_allowed(route) for route in plan.dearer]
    left_out += [size_not_made(route, size) for route in plan.unfit]
    return [hop.as_dict() for hop in left_out]


def reroutable(failure: UpstreamFailure, final: AttemptRecord) -> bool:
    """Whether the same request should go to the next route: a gateway error (502, 503,
    504) or a read timeout. A content-safety verdict or a soft refusal never is: the same
    prompt gets the same verdict anywhere, and each try may be billed."""
    if failure.refused or failure.code in NEVER_REROUTED:
        return False
    flag = getattr(failure, "reroutable", None)
    if flag is not None:
        return bool(flag)
    if final.outcome == Outcome.TIMEOUT:
        return True
    return final.outcome == Outcome.UPSTREAM_ERROR and final.http_status in REROUTABLE_STATUSES


def _said(hop: Hop) -> str:
    if hop.outcome == SKIPPED:
        return messages.skipped_hop(hop.route)
    if hop.outcome == OVER_BUDGET:
        return messages.hop_over_budget(hop.route, budget_label(hop.budget, hop.team))
    if hop.outcome == NOT_ALLOWED:
        return messages.hop_dearer(hop.route)
    if hop.outcome == SIZE_NOT_MADE:
        return messages.hop_size_not_made(hop.route, hop.size)
    if hop.outcome in REFUSALS:
        return messages.refused_hop(hop.route, hop.cost_usd)
    return messages.failed_hop(hop.route, hop.attempts, hop.cost_usd)


def reason(stored: dict[str, Any]) -> str | None:
    """Why a route of an image was not called (skipped or not taken), in the reader's
    language; None for a route that was called (its outcome says how it went)."""
    hop = Hop.from_dict(stored)
    if hop.outcome != SKIPPED and hop.outcome not in NOT_TAKEN:
        return None
    return _said(hop)


def describe(stored: list[dict[str, Any]], *, made: bool) -> str:
    """An image's routes once it is done (`stored`: every route tried, the last one
    last): "made by gpt-image-2.6-all after gpt-image-2-vip failed twice, not billed",
    or for an image without a picture what each route did. Empty when one route did it
    all: there is nothing to say beyond the model."""
    hops = [Hop.from_dict(h) for h in stored]
    if len(hops) < 2:
        return ""
    if made:
        return messages.made_by(hops[-1].route, [_said(h) for h in hops[:-1]], hops[-1].size)
    return messages.tried([_said(h) for h in hops])
