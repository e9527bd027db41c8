"""Who pays: the team a request is charged to, and whether its budget may be overridden.

The studio form, POST /generations, /edits and /iterate all call these two and nothing
else decides either question."""

from __future__ import annotations

from typing import Any

from imagestudio.spend import messages
from imagestudio.spend.models import Membership, Team
from imagestudio.web.parsing import id_or_none


class ChargeRefused(Exception):
    """A request named a team or an override it may not use; `field` says which."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def charged_team(user: Any, requested: object = None, *, parent_team_id: int | None = None):
    """The Team a request by `user` is charged to, or None (no team: the user's and the
    studio's budgets still apply).

    `requested` is the team asked for (an id, as an int or the form's digit string; None
    or "" when not asked): it must be one of the user's teams. Otherwise a turn made
    from a team image (`parent_team_id`) goes to that team when the user is in it (a
    team-mate continuing a colleague's poster), and anything else to the team the user
    joined first."""
    if requested is not None and requested != "":
        team_id = _as_id(requested)
        team = user.teams.filter(pk=team_id).first() if team_id is not None else None
        if team is None:
            raise ChargeRefused(
                "team", messages.not_your_team(list(user.teams.values_list("pk", "name")))
            )
        return team
    if parent_team_id is not None:
        member = Membership.objects.filter(user=user, team_id=parent_team_id)
        if member.exists():
            return Team.objects.get(pk=parent_team_id)
    membership = Membership.objects.filter(user=user).select_related("team").first()
    return membership.team if membership is not None else None


def may_override(user: Any) -> bool:
    """Who may submit past a budget: staff."""
    return bool(user.is_staff)


def override_allowed(user: Any, requested: object) -> bool:
    """Whether this request skips the budgets: only when asked for, and only by staff.
    A non-staff request for it is refused rather than silently ignored, so a script
    learns why its batch was still held to the budget."""
    if requested is None or requested is False or requested == "":
        return False
    if not isinstance(requested, bool):
        raise ChargeRefused("override_budget", messages.override_not_boolean())
    if not may_override(user):
        raise ChargeRefused("override_budget", messages.override_staff_only())
    return True


def _as_id(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    return id_or_none(value)
