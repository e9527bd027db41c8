"""The rules for adding and changing people, teams and their members, and budget thresholds:
one home, called by the API (/users, /teams, /budgets) and by the staff's people pages.

Each check fills `errors` (field -> sentence, in the reader's language) the way the API
reports a 400 and a page shows beside its field; a refusal that is about who asks, not what
they sent, raises Forbidden; a name someone else has raises Taken. Every change is a model
save, so the audit log records it (as the request's user, via the request's channel)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import IntegrityError, transaction
from django.db.models import Q

from imagestudio.api import messages
from imagestudio.spend.models import DEFAULT_ALERT_AT, Membership, Team

User = get_user_model()
USERNAME_LIMIT = 150
TEAM_NAME_LIMIT = 100


class Forbidden(Exception):
    """The caller may not make this change (the message says why)."""


class Taken(Exception):
    """The name is someone else's (the message says whose)."""


def text(value: str, field: str, limit: int, errors: dict[str, str]) -> str:
    value = value.strip()
    if not value:
        errors[field] = messages.blank(field)
    elif len(value) > limit:
        errors[field] = messages.too_long(field, limit)
    return value


def email(value: str, errors: dict[str, str]) -> str:
    value = value.strip()
    if value:
        try:
            EmailValidator()(value)
        except ValidationError:
            errors["email"] = messages.bad_email(value)
    return value


# --- users -----------------------------------------------------------------------------
def check_new_user(
    username: str, address: str, password: str | None, errors: dict[str, str]
) -> tuple[str, str]:
    """The user name and address cleaned, each problem in `errors`."""
    username = text(username, "username", USERNAME_LIMIT, errors)
    if "username" not in errors:
        try:
            User._meta.get_field("username").run_validators(username)
        except ValidationError as exc:
            errors["username"] = " ".join(exc.messages)
    address = email(address, errors)
    if password is not None:
        try:
            password_validation.validate_password(password, User(username=username, email=address))
        except ValidationError as exc:
            errors["password"] = " ".join(exc.messages)
    return username, address


def create_user(username: str, address: str, password: str | None, *, is_staff: bool) -> Any:
    """Without a password the user signs in through the company's provider, or after
    setting one from an invitation or a reset link."""
    try:
        with transaction.atomic():
            return User.objects.create_user(username, address, password, is_staff=is_staff)
    except IntegrityError as exc:
        raise Taken(messages.username_taken(username)) from exc


def may_act_for(actor: Any, user: Any) -> bool:
    """Whether `actor` may make, list or revoke `user`'s API tokens (act in their name):
    themselves; staff for others, except that only a superuser acts for a superuser."""
    if actor.pk == user.pk:
        return True
    return bool(actor.is_staff and (actor.is_superuser or not user.is_superuser))


def acted_for_by(actor: Any) -> Q:
    """The users `actor` may act for (may_act_for), as a filter on a user field `user`."""
    if actor.is_superuser:
        return Q()
    if actor.is_staff:
        return Q(user=actor) | Q(user__is_superuser=False)
    return Q(user=actor)


def check_user_change(
    actor: Any,
    row: Any,
    errors: dict[str, str],
    *,
    is_active: bool | None = None,
    is_staff: bool | None = None,
    is_superuser: bool | None = None,
) -> None:
    """Staff change others; a superuser (and the superuser flag) only a superuser; nobody
    takes away their own staff flag or account."""
    if (row.is_superuser or is_superuser is not None) and not actor.is_superuser:
        raise Forbidden(messages.superusers_by_superusers())
    if row.pk == actor.pk and False in (is_staff, is_active, is_superuser):
        field = (
            "is_staff"
            if is_staff is False
            else "is_active"
            if is_active is False
            else "is_superuser"
        )
        errors[field] = messages.not_your_own_staff_flag()


def change_user(row: Any, **changes: Any) -> None:
    fields = [field for field, value in changes.items() if value is not None]
    for field in fields:
        setattr(row, field, changes[field])
    if fields:
        row.save(update_fields=fields)


# --- teams -----------------------------------------------------------------------------
def create_team(name: str, errors: dict[str, str]) -> Team | None:
    name = text(name, "name", TEAM_NAME_LIMIT, errors)
    if errors:
        return None
    try:
        with transaction.atomic():
            return Team.objects.create(name=name)
    except IntegrityError as exc:
        raise Taken(messages.team_name_taken(name)) from exc


def add_members(team: Team, user_ids: list[int]) -> list[int]:
    """Adds those not in it yet; returns the ids that are no user (then adds nobody)."""
    wanted = list(dict.fromkeys(user_ids))
    found = set(User.objects.filter(pk__in=wanted).values_list("pk", flat=True))
    missing = [i for i in wanted if i not in found]
    if missing:
        return missing
    with transaction.atomic():
        present = set(team.memberships.values_list("user_id", flat=True))
        for user_id in wanted:
            if user_id not in present:
                # One by one, not members.add(): each is its own audit row and signal.
                Membership.objects.get_or_create(team=team, user_id=user_id)
    return []


def remove_member(team: Team, user_id: int) -> bool:
    """False when they are not in it. Their images stay the team's."""
    membership = Membership.objects.filter(team=team, user_id=user_id).first()
    if membership is None:
        return False
    membership.delete()
    return True


# --- budgets ---------------------------------------------------------------------------
def alert_share(value: object, errors: dict[str, str], field: str = "alert_at") -> Decimal:
    """A share of the cap in (0, 1] with at most 2 decimals (a number or a decimal string);
    absent: the default."""
    if value is None or value == "":
        return DEFAULT_ALERT_AT
    share = None
    if isinstance(value, int | float | str | Decimal) and not isinstance(value, bool):
        try:
            share = Decimal(str(value))
        except InvalidOperation:
            share = None
    if (
        share is None
        or not share.is_finite()
        or not 0 < share <= 1
        or share != share.quantize(Decimal("0.01"))
    ):
        errors[field] = messages.bad_share(field)
        return DEFAULT_ALERT_AT
    return share.quantize(Decimal("0.01"))
