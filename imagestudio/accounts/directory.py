"""What the company's directory says about a person, applied at each of their sign-ins:
who they are (found by the provider's subject, created just in time), whether they may
come in at all (IMAGESTUDIO_OIDC_ALLOWED_GROUP), which studio teams they are in (a group
named as a team is that team), and whether they are staff (IMAGESTUDIO_OIDC_STAFF_GROUP).

Changes are audited like any other (users, memberships), as the person's own."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from imagestudio.accounts.models import Identity
from imagestudio.audit.trail import Via, acting
from imagestudio.spend.models import Membership, Team

log = logging.getLogger(__name__)
UNKNOWN_GROUP_LOGGED_FOR = 24 * 3600


class SignInRefused(Exception):
    """The provider vouched for someone the studio does not let in."""


def groups_of(claims: dict[str, Any]) -> list[str]:
    """The groups claim as a list of names: a list of strings (or one string); anything
    else in it is no group."""
    value = claims.get(settings.OIDC_GROUPS_CLAIM)
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return []
    return sorted({item.strip() for item in value if isinstance(item, str) and item.strip()})


def _log_unknown_once(names: set[str]) -> None:
    """A group that is no team (nor the staff or allowed group) is ignored; said once a day
    per name across every process, not at every sign-in of everyone in it."""
    for name in sorted(names):
        digest = hashlib.sha256(name.encode()).hexdigest()[:32]
        if cache.add(f"oidc-unknown-group:{digest}", 1, UNKNOWN_GROUP_LOGGED_FOR):
            log.info("Directory group %r is no studio team: ignored", name[:100])


def _username(claims: dict[str, Any]) -> str:
    """A free user name from the claims: preferred_username, else the e-mail's local part,
    else one made from the subject; a number is added when it is taken."""
    User = get_user_model()
    validate = User.username_validator
    candidates = [
        str(claims.get("preferred_username") or ""),
        str(claims.get("email") or "").partition("@")[0],
    ]
    base = ""
    for candidate in candidates:
        candidate = candidate.strip()[:140]
        try:
            validate(candidate)
        except ValidationError:
            continue
        if candidate:
            base = candidate
            break
    if not base:
        base = "user-" + hashlib.sha256(str(claims["sub"]).encode()).hexdigest()[:12]
    name, n = base, 1
    while User.objects.filter(username__iexact=name).exists():
        n += 1
        name = f"{base}-{n}"
    return name


def _find_or_create(issuer: str, claims: dict[str, Any]) -> tuple[Any, Identity]:
    """The person the provider names: by their identity; at their first sign-in, the
    account staff invited with that (verified) e-mail address, else a new account."""
    subject = str(claims["sub"])
    identity = Identity.objects.select_related("user").filter(issuer=issuer, subject=subject)
    found = identity.first()
    if found is not None:
        return found.user, found
    User = get_user_model()
    email = str(claims.get("email") or "").strip()
    user = None
    if email and claims.get("email_verified") is True:
        # Never a superuser's: whoever controls the address at the provider would become
        # one. Two accounts with one address: neither is taken over.
        invited = list(
            User.objects.filter(email__iexact=email, is_superuser=False).exclude(
                identities__issuer=issuer
            )[:2]
        )
        if len(invited) == 1:
            user = invited[0]
    if user is None:
        user = User.objects.create_user(_username(claims), email=email)
    return user, Identity.objects.create(user=user, issuer=issuer, subject=subject)


def sign_in(issuer: str, claims: dict[str, Any]) -> Any:
    """The studio's user for these userinfo claims, with the directory's word applied;
    raises SignInRefused for someone outside the allowed group (or deactivated here)."""
    groups = groups_of(claims)
    allowed = settings.OIDC_ALLOWED_GROUP
    if allowed and allowed not in groups:
        _deactivate_leaver(issuer, str(claims["sub"]))
        raise SignInRefused("not in the allowed group")
    with transaction.atomic():
        user, identity = _find_or_create(issuer, claims)
        if not user.is_active:
            raise SignInRefused("deactivated in the studio")
        with acting(via=Via.WEB, actor=user):
            _apply(user, identity, groups)
    return user


def _deactivate_leaver(issuer: str, subject: str) -> None:
    """Someone the directory took out of the allowed group is deactivated when they next
    come: their API tokens and any open session stop too. A superuser is the way back in
    when the directory is wrong, so theirs stays."""
    identity = Identity.objects.select_related("user").filter(issuer=issuer, subject=subject)
    found = identity.first()
    if found is None or not found.user.is_active or found.user.is_superuser:
        return
    with transaction.atomic(), acting(via=Via.WEB, actor=found.user):
        found.user.is_active = False
        found.user.save(update_fields=["is_active"])
    log.info("user %s left the allowed group: deactivated", found.user.pk)


def _apply(user: Any, identity: Identity, groups: list[str]) -> None:
    staff_group = settings.OIDC_STAFF_GROUP
    # The staff flag follows the directory when it names a staff group; a superuser's is
    # theirs (they are made in the studio, never by the directory).
    if staff_group and not user.is_superuser and user.is_staff != (staff_group in groups):
        user.is_staff = staff_group in groups
        user.save(update_fields=["is_staff"])
    teams = {team.name: team for team in Team.objects.filter(name__in=groups)}
    current = set(Membership.objects.filter(user=user).values_list("team__name", flat=True))
    for name, team in sorted(teams.items()):
        if name not in current:
            Membership.objects.get_or_create(team=team, user=user)
    # Only the teams of groups they have left: a team staff put them in by hand stays.
    left = (set(identity.groups) - set(groups)) & current
    for membership in Membership.objects.filter(user=user, team__name__in=left):
        membership.delete()
    _log_unknown_once(set(groups) - set(teams) - {staff_group, settings.OIDC_ALLOWED_GROUP})
    identity.groups = groups
    identity.last_sign_in = timezone.now()
    identity.save(update_fields=["groups", "last_sign_in"])
