"""Failures counted per client address in the cache, for the API's bearer tokens.

A fixed window: the first failure starts a window of `window` seconds; the `limit`-th
failure inside it blocks the address for `block` seconds. While blocked, every bearer
request from that address is answered 429 before its token is looked up, so a flood costs
one cache read a request. Counts live in the shared cache (file or Redis), so every web
process of one machine (or all machines, with Redis) sees the same numbers."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    """The client's address: the peer's, or behind PROXY_COUNT proxies the address the
    outermost of them saw (that many entries from the right of X-Forwarded-For; entries
    further left are the client's own say and could be anything)."""
    peer = str(request.META.get("REMOTE_ADDR") or "unknown")
    count = settings.PROXY_COUNT
    if count <= 0:
        return peer
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    hops = [h for h in hops if h]
    return hops[-count] if len(hops) >= count else peer


@dataclass(frozen=True)
class FailureThrottle:
    name: str
    limit: int
    window: int
    block: int

    def _key(self, kind: str, address: str) -> str:
        digest = hashlib.sha256(address.encode("utf-8", "replace")).hexdigest()[:32]
        return f"throttle:{self.name}:{kind}:{digest}"

    def blocked_key(self, address: str) -> str:
        """Present in the cache while `address` is blocked (a fast path reads it with others)."""
        return self._key("blocked", address)

    def retry_after(self, address: str) -> int:
        """Seconds until `address` may try again; 0 when it is not blocked."""
        until = cache.get(self._key("blocked", address))
        if until is None:
            return 0
        return max(1, int(until - time.time()) + 1)

    def failed(self, address: str) -> int:
        """Count one failure; the seconds the address is now blocked for (0: not blocked)."""
        key = self._key("count", address)
        cache.add(key, 0, timeout=self.window)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=self.window)
            count = 1
        if count < self.limit:
            return 0
        cache.set(self._key("blocked", address), time.time() + self.block, timeout=self.block)
        cache.delete(key)
        return self.block

    def reset(self, address: str) -> None:
        cache.delete_many([self._key("count", address), self._key("blocked", address)])
