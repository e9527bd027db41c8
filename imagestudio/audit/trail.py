"""Who is acting, through which channel, and the one writer of audit rows.

A request's middleware (middleware.AuditMiddleware) or a management command (`acting`)
says who acts and how; `record` reads it, so the signal receivers that notice a change
never need the request passed down to them."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import models
from django.http import HttpRequest
from django.utils import translation

from imagestudio.audit.models import AuditEntry

Via = AuditEntry.Via
Action = AuditEntry.Action
REPR_CHARS = 200


@dataclass(frozen=True)
class Origin:
    via: str
    # A request's user is read when a row is written, not when the request starts: the
    # API authenticates a bearer token inside the view.
    request: HttpRequest | None = None
    actor: Any = None

    def who(self) -> Any:
        """The real actor: the signed-in user, or for a token made by staff for someone
        else, the staff member who was shown its secret."""
        user = getattr(self.request, "user", None) if self.request is not None else self.actor
        if user is None or not user.is_authenticated:
            return None
        token = getattr(self.request, "api_token", None)
        if token is not None and token.issued_by_id not in (None, token.user_id):
            return token.issued_by
        return user

    def who_name(self, actor: Any) -> str:
        token = getattr(self.request, "api_token", None)
        if actor is not None and token is not None and actor.pk != token.user_id:
            return token.acting_for()
        return actor.get_username() if actor is not None else ""

    def address(self) -> str | None:
        if self.request is None:
            return None
        return self.request.META.get("REMOTE_ADDR") or None


# Outside any request or `acting` block a change comes from a script on the server: a
# management command (or a shell), with nobody signed in.
_SERVER = Origin(via=Via.COMMAND)
_origin: ContextVar[Origin] = ContextVar("audit_origin", default=_SERVER)


def current() -> Origin:
    return _origin.get()


@contextmanager
def acting(*, via: str, actor: Any = None, request: HttpRequest | None = None) -> Iterator[None]:
    """Changes inside the block are recorded as `actor`'s (or the request's user's), via
    `via`."""
    token = _origin.set(Origin(via=via, request=request, actor=actor))
    try:
        yield
    finally:
        _origin.reset(token)


def plain(value: Any) -> Any:
    """A field value as JSON: money and dates as strings, everything else as it is."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def record(
    *,
    object_type: str,
    object_id: object,
    object_repr: str,
    action: str,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    origin: Origin | None = None,
) -> AuditEntry:
    """Append one entry, inside the caller's transaction when there is one, so the change
    and its record commit (or roll back) together."""
    origin = origin or current()
    actor = origin.who()
    return AuditEntry.objects.create(
        actor_id=actor.pk if actor is not None else None,
        actor_name=origin.who_name(actor),
        object_type=object_type,
        object_id=str(object_id),
        object_repr=object_repr[:REPR_CHARS],
        action=action,
        before={k: plain(v) for k, v in (before or {}).items()},
        after={k: plain(v) for k, v in (after or {}).items()},
        via=origin.via,
        address=origin.address(),
    )


def record_change(
    obj: models.Model,
    object_type: str,
    action: str,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> AuditEntry:
    # A row's name is stored in English whoever acts (a budget's "team Design:
    # $100.00/month"): the page says it again in its reader's language
    # (messages.object_name), the CSV and the API keep it as stored.
    with translation.override("en"):
        name = str(obj)
    return record(
        object_type=object_type,
        object_id=obj.pk,
        object_repr=name,
        action=action,
        before=before,
        after=after,
    )
