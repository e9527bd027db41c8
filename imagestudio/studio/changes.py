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


def issue(path: str, user_id: int, counters: dict[str, int], ids: Iterable[str]) -> str:
    """`path` with a token for a page that shows `ids` as of `counters` (from versions());
    `path` alone when a counter could not be read."""
    if not counters:
        return path
    parts = ",".join(f"{scope}:{value}" for scope, value in sorted(counters.items()))
    payload = f"{user_id}.{int(time.time())}.{ids_digest(ids)}.{parts}"
    token = f"{payload}.{_signature(path, payload)}"
    return f"{path}?{urlencode({PARAM: token})}"


def pending_ids(rows: Iterable[Any]) -> list[str]:
    """What a page's pending tiles send (their poll inputs: studio/tiles.html)."""
    return [f"{g.pk}:{g.status}" for g in rows if g.is_pending]


# --- the fast answer ------------------------------------------------------------------------------
def unchanged(path: str, token: str, ids: list[str], session_key: str) -> bool:
    """True when the token is this path's, fresh, of this session's user, for exactly these
    ids, and no counter in it moved."""
    payload, _, signature = token.rpartition(".")
    if not payload or not constant_time_compare(signature, _signature(path, payload)):
        return False
    try:
        user, issued, digest, parts = payload.split(".", 3)
        counters = dict(part.split(":", 1) for part in parts.split(","))
    except ValueError:
        return False
    if not 0 <= time.time() - int(issued) < TOKEN_SECONDS or digest != ids_digest(ids):
        return False
    store = import_module(settings.SESSION_ENGINE).SessionStore
    prefix = getattr(store, "cache_key_prefix", None)
    if prefix is None or settings.SESSION_CACHE_ALIAS != "default":
        # Sessions that do not live in this cache: no single read answers.
        return False
    session_cache_key = prefix + session_key
    keys = [session_cache_key, *(_key(scope) for scope in counters)]
    try:
        found = caches["default"].get_many(keys)
    except Exception:
        return False
    session = found.get(session_cache_key)
    if not isinstance(session, dict) or str(session.get(_SESSION_USER_KEY)) != user:
        return False
    return all(str(found.get(_key(scope))) == value for scope, value in counters.items())
