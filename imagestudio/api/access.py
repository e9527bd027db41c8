"""The generations an API caller may reach, by the studio's one rule
(Generation.objects.viewable_by / Generation.can_change); this module only says it in JSON."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import HttpRequest

from imagestudio.api import messages
from imagestudio.api.contract import ApiError
from imagestudio.campaigns import marks
from imagestudio.studio.models import Generation

# Larger ids would overflow the database's integer column instead of simply not matching.
MAX_ID = 2**63 - 1


def visible_generations(request: HttpRequest) -> QuerySet[Generation]:
    return Generation.objects.viewable_by(request.user)


def visible_generation(request: HttpRequest, pk: int, marked: bool = False) -> Generation:
    """A generation the caller may see (their own, their teams', anyone's for staff), or a
    404. An outsider's id gets the same 404 as a missing one, so ids reveal nothing.
    `marked`: the caller's star and boards come with it, in the same query."""
    rows = visible_generations(request).filter(pk=pk)
    if marked:
        rows = marks.with_marks_inline(rows, request.user)
    row = rows.first() if pk <= MAX_ID else None
    if row is None:
        raise ApiError(404, "not_found", messages.no_such_generation(pk))
    return row


def changeable_generation(request: HttpRequest, pk: int) -> Generation:
    """A generation the caller may change; a team-mate's is a 403 (they can see it), an
    outsider's a 404."""
    row = visible_generation(request, pk)
    if not row.can_change(request.user):
        raise ApiError(403, "forbidden", messages.teammates_generation(pk))
    return row


def require_staff(request: HttpRequest) -> None:
    """The provisioning and audit operations are staff's: a 403 for anyone else."""
    if not request.user.is_staff:
        raise ApiError(403, "forbidden", messages.staff_only())
