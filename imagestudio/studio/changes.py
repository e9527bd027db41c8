"""Change counters: how a poll learns that nothing changed without asking the database.

Every state change of an image bumps two counters in the cache once its transaction has
committed: its owner's (`u<id>`) and its batch's (`b<id>`). Saving a user bumps theirs (a
new password, staff or not, a deactivation); any change to teams bumps `teams`, which a
token holds when a team is what lets its user see the page.

A page's poller URL carries a signed token (`?v=`): the user, the counters it was drawn
at, a digest of the `ids` the page will send (each pending tile's "12:running") and when
it was issued. While all of that still holds, UnchangedPollMiddleware answers the poll
with an empty 204 from one cache read (the session and the counters together): no
database, no template, no session write.

Anything else (a counter moved, a tile appeared or went, the token is older than
TOKEN_SECONDS, the cache lost a key) sends the poll down the ordinary view, which checks
access with viewable_by(), answers what changed and issues a new token. A lost bump (the
cache was unreachable for a moment) therefore delays a tile by TOKEN_SECONDS at most.

Counters start at a random 48-bit value, so a counter the cache dropped and created again
never lands on a value an old token holds."""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from collections.abc import Iterable, Sequence
from importlib import import_module
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache, caches
from django.db import transaction
from django.utils.crypto import constant_time_compare, salted_hmac

log = logging.getLogger(__name__)

PARAM = "v"
# A token is trusted this long; then one ordinary poll checks everything and issues the next.
TOKEN_SECONDS = 60
COUNTER_SECONDS = 24 * 3600
_PREFIX = "imagestudio:changes:"
_SALT = "imagestudio.studio.changes"
_SESSION_USER_KEY = "_auth_user_id"  # django.contrib.auth.SESSION_KEY, without the import


# Who is in which team: a token that relies on a team for access holds it too.
ACCESS_SCOPE = "teams"
# Stars and boards (the API's `starred` and `boards` of an image): an API answer's ETag holds it.
MARKS_SCOPE = "marks"


def user_scope(user_id: int) -> str:
    return f"u{user_id}"


def batch_scope(batch_id: int) -> str:
    return f"b{batch_id}"


def _key(scope: str) -> str:
    return _PREFIX + scope


# --- writers ----------------------------------------------------------------------------------
def changed(*, user_id: int | None = None, batch_id: int | None = None) -> None:
    """An image of this user (and batch) changed: bump their counters after the commit, so
    a poll that reads the new counter also reads the new row."""
    scopes = []
    if user_id is not None:
        scopes.append(user_scope(user_id))
    if batch_id is not None:
        scopes.append(batch_scope(batch_id))
    if scopes:
        transaction.on_commit(lambda: bump(scopes))


def bump(scopes: Iterable[str]) -> None:
    for scope in scopes:
        try:
            cache.incr(_key(scope))
        except ValueError:
            # No counter: no token holds one, so there is nothing to invalidate.
            pass
        except Exception:
            # The cache is out: tokens outlive the miss by TOKEN_SECONDS at most.
            log.warning("could not bump the change counter %s", scope, exc_info=True)


def user_saved(sender: Any, instance: Any, update_fields: Any = None, **kwargs: Any) -> None:
    """post_save of the user model: a token must not outlive a password change, a lost staff
    flag or a deactivation. A sign-in (which saves last_login alone) changes none of that."""
    if update_fields is not None and set(update_fields) == {"last_login"}:
        return
    changed(user_id=instance.pk)


def access_changed(**kwargs: Any) -> None:
    """Signal receiver: a team or a membership changed."""
    transaction.on_commit(lambda: bump([ACCESS_SCOPE]))


def token_revoked(sender: Any, instance: Any, **kwargs: Any) -> None:
    """post_delete of an API token: no fast answer for it from now on."""
    cache.delete(bearer_key(instance.token_hash))


def marks_changed(**kwargs: Any) -> None:
    """Signal receiver: a star, a board or a board's item changed."""
    transaction.on_commit(lambda: bump([MARKS_SCOPE]))


# --- tokens -------------------------------------------------------------------------------------
def versions(scopes: Sequence[str]) -> dict[str, int]:
    """The counters now, created where missing. Read before the rows a page shows."""
    keys = {_key(scope): scope for scope in scopes}
    try:
        found = cache.get_many(list(keys))
        for key in set(keys) - set(found):
            cache.add(key, secrets.randbits(48), COUNTER_SECONDS)
        if len(found) < len(keys):
            found = cache.get_many(list(keys))
    except Exception:
        log.warning("could not read the change counters", exc_info=True)
        return {}
    return {keys[key]: value for key, value in found.items() if isinstance(value, int)}


def ids_digest(values: Iterable[str]) -> str:
    """The `ids` a page sends, order aside."""
    text = "\n".join(sorted(values))
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def _signature(path: str, payload: str) -> str:
    return salted_hmac(_SALT, f"{path}|{payload}", algorithm="sha256").hexdigest()[:32]


def token(path: str, user_id: int, counters: dict[str, int], ids: Iterable[str] = ()) -> str:
    """A token for `path` as `user_id` sees it at `counters` (from versions()); "" when a
    counter could not be read."""
    if not counters:
        return ""
    parts = "~".join(f"{scope}:{value}" for scope, value in sorted(counters.items()))
    payload = f"{user_id}.{int(time.time())}.{ids_digest(ids)}.{parts}"
    return f"{payload}.{_signature(path, payload)}"


def issue(path: str, user_id: int, counters: dict[str, int], ids: Iterable[str]) -> str:
    """`path` with a token for a page that shows `ids` as of `counters` (from versions());
    `path` alone when a counter could not be read."""
    signed = token(path, user_id, counters, ids)
    return f"{path}?{urlencode({PARAM: signed})}" if signed else path


def bearer_key(token_hash: str) -> str:
    """Where the API's sign-in keeps a bearer token's user id for the fast answer, for
    BEARER_SECONDS: its revocation deletes it, and the full path (which notes the token's
    use, once a minute) runs again at least that often."""
    return f"{_PREFIX}bearer:{token_hash}"


BEARER_SECONDS = 60


def pending_ids(rows: Iterable[Any]) -> list[str]:
    """What a page's pending tiles send (their poll inputs: studio/tiles.html)."""
    return [f"{g.pk}:{g.tile_state}" for g in rows if g.is_pending]


# --- the fast answer ------------------------------------------------------------------------------
def _verified(path: str, signed: str, ids: list[str]) -> tuple[str, dict[str, str]] | None:
    """The token's user and counters, when it is this path's, fresh and for these ids."""
    payload, _, signature = signed.rpartition(".")
    if not payload or not constant_time_compare(signature, _signature(path, payload)):
        return None
    try:
        user, issued, digest, parts = payload.split(".", 3)
        counters = dict(part.split(":", 1) for part in parts.split("~"))
    except ValueError:
        return None
    if not 0 <= time.time() - int(issued) < TOKEN_SECONDS or digest != ids_digest(ids):
        return None
    return user, counters


def from_etag(etag: str) -> str:
    """The token in an If-None-Match of one ETag ("" for a list or none)."""
    return "" if "," in etag else etag.strip().removeprefix("W/").strip('"')


def etag(signed: str) -> str:
    return f'"{signed}"'


def still_current(path: str, signed: str, user_id: int, counters: dict[str, int]) -> bool:
    """The ordinary path's own check of a token against counters it has just read."""
    verified = _verified(path, signed, [])
    if verified is None or not counters:
        return False
    user, held = verified
    return user == str(user_id) and held == {k: str(v) for k, v in counters.items()}


def _session_cache_key(session_key: str) -> str | None:
    store = import_module(settings.SESSION_ENGINE).SessionStore
    prefix = getattr(store, "cache_key_prefix", None)
    if prefix is None or settings.SESSION_CACHE_ALIAS != "default":
        # Sessions that do not live in this cache: no single read answers.
        return None
    return prefix + session_key


def unchanged(
    path: str,
    signed: str,
    ids: list[str],
    *,
    session_key: str = "",
    bearer_hash: str = "",
    blocked_key: str = "",
) -> bool:
    """True when the token is this path's, fresh, for exactly these ids, of the caller (a
    signed-in session's user, or a bearer token's whose address is not blocked), and no
    counter in it moved. One cache read: the caller and the counters together."""
    verified = _verified(path, signed, ids)
    if verified is None:
        return False
    user, counters = verified
    if bearer_hash:
        identity_key: str | None = bearer_key(bearer_hash)
    else:
        identity_key = _session_cache_key(session_key) if session_key else None
    if identity_key is None:
        return False
    keys = [identity_key, *(_key(scope) for scope in counters)]
    if blocked_key:
        keys.append(blocked_key)
    try:
        found = caches["default"].get_many(keys)
    except Exception:
        return False
    if blocked_key and found.get(blocked_key) is not None:
        return False
    identity = found.get(identity_key)
    if bearer_hash:
        if str(identity) != user:
            return False
    elif not isinstance(identity, dict) or str(identity.get(_SESSION_USER_KEY)) != user:
        return False
    return all(str(found.get(_key(scope))) == value for scope, value in counters.items())
