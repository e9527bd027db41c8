"""Staff's route settings (RouteSetting rows) as the catalog's overrides.

Read at most every TTL_SECONDS per process, and at once in the process that saved a
change: a switched-off model or a new price applies within seconds in every worker,
without a restart, and a page or a call never pays a query for it otherwise."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

from imagestudio import catalog
from imagestudio.spend.models import RouteSetting

TTL_SECONDS = 5.0

_lock = threading.Lock()
_cached: dict[str, catalog.Override] | None = None
_read_at = 0.0


def _read() -> dict[str, catalog.Override]:
    return {
        row.model: catalog.Override(
            enabled=row.enabled,
            price_per_image=row.price_per_image,
            text_input=row.text_input_per_million,
            image_input=row.image_input_per_million,
            image_output=row.image_output_per_million,
            timeout_s=row.timeout_seconds,
        )
        for row in RouteSetting.objects.all()
    }


def overrides() -> Mapping[str, catalog.Override]:
    global _cached, _read_at
    now = time.monotonic()
    with _lock:
        if _cached is not None and now - _read_at < TTL_SECONDS:
            return _cached
    fresh = _read()
    with _lock:
        _cached, _read_at = fresh, now
    return fresh


def forget(**kwargs: Any) -> None:
    """Drop what this process read (a setting was saved here, or a test ended)."""
    global _cached
    with _lock:
        _cached = None
