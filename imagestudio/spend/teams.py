"""The teams a user may pick, cached: the gallery draws a team filter on every page, and
a page must stay at its two queries. Any change to teams or memberships bumps a version
number, which retires every cached list at once."""

from __future__ import annotations

from django.core.cache import cache

from imagestudio.spend.models import Team

VERSION_KEY = "spend:teams:version"
TTL_SECONDS = 300


def _version() -> int:
    version = cache.get(VERSION_KEY)
    if version is None:
        cache.add(VERSION_KEY, 1, None)
        version = cache.get(VERSION_KEY, 1)
    return version


def changed(**kwargs) -> None:
    """Signal receiver: a team or a membership changed."""
    try:
        cache.incr(VERSION_KEY)
    except ValueError:
        cache.set(VERSION_KEY, 2, None)


def teams_for(user) -> list[Team]:
    """Staff: every team; others: their own, in name order. Unsaved-looking Team objects
    with only pk and name: enough for a select and for filtering by team."""
    # date_joined in the key: a reused primary key (a new database, a test) never reads
    # someone else's list.
    key = f"spend:teams:{_version()}:{user.pk}:{user.date_joined.timestamp()}:{int(user.is_staff)}"
    rows = cache.get(key)
    if rows is None:
        qs = Team.objects.all() if user.is_staff else user.teams.all()
        rows = list(qs.order_by("name").values_list("pk", "name"))
        cache.set(key, rows, TTL_SECONDS)
    return [Team(pk=pk, name=name) for pk, name in rows]
