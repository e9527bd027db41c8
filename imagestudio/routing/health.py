"""Route health: how often each route (model × size tier) made an image in the last hour
and the last day, and how long its images took, read from the spend ledger.

One query reads the day's counted attempts (ordered by latency, so the percentiles are a
walk over each group); the table is kept in the shared cache for a few seconds, so the
studio form, the spend page, /metrics and the API read it at most once per interval
whichever process serves them."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.utils import timezone

from imagestudio.spend.models import Attempt
from imagestudio.upstream.types import Outcome

CACHE_KEY = "routing:health:v1"
CACHE_SECONDS = 15
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
WINDOWS = {"hour": HOUR, "day": DAY}

# The outcomes that say how the route itself is doing. A prompt's refusal (content
# policy, a soft refusal, a rejected request), a worker that died and a gateway this
# machine could not reach say nothing about the route, so they are left out.
SUCCESS = frozenset({Outcome.IMAGE})
ROUTE_FAILURES = frozenset(
    {
        Outcome.TIMEOUT,
        Outcome.UPSTREAM_ERROR,
        Outcome.SATURATED,
        Outcome.DOWNLOAD_FAILED,
        Outcome.BAD_IMAGE,
    }
)
COUNTED = SUCCESS | ROUTE_FAILURES


@dataclass(frozen=True)
class Window:
    """One route's calls in one window. The latencies are those of the calls that made an
    image: what a designer waits for when the route works."""

    calls: int
    succeeded: int
    p50_s: float | None
    p95_s: float | None

    @property
    def rate(self) -> float | None:
        return self.succeeded / self.calls if self.calls else None


EMPTY = Window(0, 0, None, None)


@dataclass(frozen=True)
class RouteHealth:
    model: str
    tier: str
    hour: Window
    day: Window

    def window(self, name: str) -> Window:
        return self.hour if name == "hour" else self.day


Key = tuple[str, str]


def percentile(sorted_values: list[int], share: float) -> float | None:
    """Nearest-rank percentile of milliseconds, in seconds."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(len(sorted_values) * share))
    return sorted_values[rank - 1] / 1000


def compute(now: datetime | None = None) -> dict[Key, RouteHealth]:
    """The table, straight from the ledger (no cache): one query."""
    now = now or timezone.now()
    rows = (
        Attempt.objects.filter(created_at__gte=now - DAY, outcome__in=COUNTED)
        .order_by("latency_ms")
        .values_list("model", "size_tier", "outcome", "latency_ms", "created_at")
    )
    calls: dict[tuple[Key, str], int] = defaultdict(int)
    latencies: dict[tuple[Key, str], list[int]] = defaultdict(list)
    hour_start = now - HOUR
    for model, tier, outcome, latency_ms, created_at in rows:
        key = (model, tier)
        names = ("hour", "day") if created_at >= hour_start else ("day",)
        for name in names:
            calls[key, name] += 1
            if outcome in SUCCESS:
                latencies[key, name].append(latency_ms)
    table: dict[Key, RouteHealth] = {}
    for key in sorted({key for key, _ in calls}):
        windows = {}
        for name in WINDOWS:
            done = latencies.get((key, name), [])
            windows[name] = (
                Window(calls[key, name], len(done), percentile(done, 0.5), percentile(done, 0.95))
                if calls.get((key, name))
                else EMPTY
            )
        table[key] = RouteHealth(key[0], key[1], windows["hour"], windows["day"])
    return table


def table() -> dict[Key, RouteHealth]:
    """The table as every reader sees it: at most CACHE_SECONDS old."""
    cached = cache.get(CACHE_KEY)
    if cached is None:
        cached = compute()
        cache.set(CACHE_KEY, cached, CACHE_SECONDS)
    return cached


def of(model: str, tier: str) -> RouteHealth:
    return table().get((model, tier)) or RouteHealth(model, tier, EMPTY, EMPTY)


def for_model(model: str) -> list[RouteHealth]:
    """A model's routes that were called in the last day, by tier."""
    return [h for (m, _), h in table().items() if m == model]


def forget() -> None:
    """Drop the cached table (tests, and after a staff action that wants fresh numbers)."""
    cache.delete(CACHE_KEY)


def _window_dict(window: Window) -> dict[str, Any]:
    return {
        "calls": window.calls,
        "succeeded": window.succeeded,
        "success_rate": None if window.rate is None else round(window.rate, 4),
        "p50_s": window.p50_s,
        "p95_s": window.p95_s,
    }


def for_api(model: str) -> list[dict[str, Any]]:
    """A model's health per size tier for GET /api/v1/models: the last hour's and day's
    calls, successes and image latency, and whether its breaker is skipping it now."""
    from imagestudio.routing.models import Circuit

    skipped = set(
        Circuit.objects.filter(model=model)
        .exclude(state=Circuit.State.CLOSED)
        .values_list("tier", flat=True)
    )
    return [
        {
            "tier": route.tier,
            "hour": _window_dict(route.hour),
            "day": _window_dict(route.day),
            "skipped": route.tier in skipped,
        }
        for route in for_model(model)
    ]
