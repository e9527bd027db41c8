"""Which routes a request may take, in order: the model asked for, then the fallbacks
staff set for it at its size tier, less those that cannot take this very request (off,
another endpoint), do not make its size, or cost more when staff did not allow that. The
last two are kept aside (Plan.unfit, Plan.dearer) so the image can say why they were not
tried."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal

from imagestudio import catalog
from imagestudio.routing.models import Chain


def known(model: str) -> bool:
    return model in catalog.MODELS


def per_image(model: str, size: str, quality: str = "", inputs: int = 0) -> Decimal:
    """What one image on this route may cost at most: the catalog's own reservation (a
    route without quality tiers ignores the quality asked for; a token route bills its
    `inputs` reference pictures)."""
    return catalog.reserve_per_image(model, size, quality, inputs)


@dataclass(frozen=True)
class Plan:
    routes: tuple[str, ...]
    # Fallbacks staff listed that cost more than the route asked for, not allowed.
    dearer: tuple[str, ...] = ()
    # Fallbacks staff listed that do not make the size asked for (gpt-image-2.6-all has
    # no 2336x3520).
    unfit: tuple[str, ...] = ()
    # Routes taken at a size of their own, where staff allowed a size change: (route, size).
    resized: tuple[tuple[str, str], ...] = ()
    policy: Chain | None = field(default=None, compare=False)

    @property
    def first(self) -> str:
        return self.routes[0]

    def size_for(self, route: str) -> str:
        """The size `route` is sent instead of the one asked for; "" to send that one."""
        return dict(self.resized).get(route, "")


# Every chain, read at most once per CACHE_SECONDS per process (a budget's standing asks
# for many images at once); a save in this process forgets it at once (signals), other
# processes follow within the interval.
CACHE_SECONDS = 5.0
_lock = threading.Lock()
_cached: tuple[float, dict[tuple[str, str], Chain]] | None = None


def _chains() -> dict[tuple[str, str], Chain]:
    global _cached
    with _lock:
        if _cached is not None and time.monotonic() - _cached[0] < CACHE_SECONDS:
            return _cached[1]
    chains = {(c.model, c.tier): c for c in Chain.objects.all()}
    with _lock:
        _cached = (time.monotonic(), chains)
    return chains


def forget(**kwargs: object) -> None:
    global _cached
    with _lock:
        _cached = None


def policy(model: str, tier: str) -> Chain | None:
    return _chains().get((model, tier))


def plan(model: str, size: str, endpoint: str = catalog.GENERATIONS) -> Plan:
    """The routes, in the order tried, for one image of `model` at `size` (one query)."""
    chain = policy(model, catalog.size_tier(model, size))
    if chain is None:
        return Plan((model,))
    ceiling = per_image(model, size)
    routes, dearer, unfit, resized = [model], [], [], []
    for fallback in chain.fallbacks:
        if not _serves(fallback, endpoint):
            continue
        own = size
        if not catalog.valid_size(fallback, size):
            nearest = catalog.nearest_size(fallback, size) if chain.allow_size_change else None
            if nearest is None:
                unfit.append(fallback)
                continue
            own = nearest
        if per_image(fallback, own) > ceiling and not chain.allow_dearer:
            dearer.append(fallback)
            continue
        routes.append(fallback)
        if own != size:
            resized.append((fallback, own))
    return Plan(tuple(routes), tuple(dearer), tuple(unfit), tuple(resized), policy=chain)


def _serves(model: str, endpoint: str) -> bool:
    """Switched on and serving this endpoint. No conversation turn is rerouted: the routes
    that can stand in for another at its size have no chat endpoint, and the two chat
    routes cannot make each other's sizes (docs/gateway.md, "Chat turns")."""
    return (
        catalog.enabled(model)
        and endpoint != catalog.CHAT
        and catalog.accepts_endpoint(model, endpoint)
    )


def reservation(
    model: str, size: str, endpoint: str = catalog.GENERATIONS, quality: str = "", inputs: int = 0
) -> Decimal:
    """The most one image may cost on its way: the dearest route it may take, at the size
    each route is sent."""
    routes = plan(model, size, endpoint)
    return max(
        per_image(route, routes.size_for(route) or size, quality, inputs) for route in routes.routes
    )
