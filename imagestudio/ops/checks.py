"""Is the studio healthy? One function per part, each returning "ok" or what is wrong.

Workers are alive when one of them beat its heart recently: every worker process writes
the time to the shared cache every IMAGESTUDIO_HEARTBEAT_SECONDS (studio.tasks), busy or
idle, so an idle studio is healthy and a studio whose workers all died is not."""

from __future__ import annotations

import time
import uuid

from django.conf import settings
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection

WORKER_BEAT_KEY = "ops:worker-beat"


def worker_beat() -> None:
    """Called by each worker's heartbeat thread."""
    cache.set(WORKER_BEAT_KEY, time.time(), timeout=settings.STALE_RUNNING_SECONDS * 2)


def database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


def broker() -> str:
    from imagestudio.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
    return "ok"


def storage() -> str:
    name = default_storage.save(f"healthz/{uuid.uuid4().hex}.txt", ContentFile(b"ok"))
    default_storage.delete(name)
    return "ok"


def workers() -> str:
    beat = cache.get(WORKER_BEAT_KEY)
    limit = settings.STALE_RUNNING_SECONDS
    if beat is None or time.time() - float(beat) > limit:
        return f"no worker heartbeat in the last {limit} s"
    return "ok"


CHECKS = {"database": database, "broker": broker, "storage": storage, "workers": workers}


def run() -> dict[str, str]:
    results: dict[str, str] = {}
    for name, check in CHECKS.items():
        try:
            results[name] = check()
        except Exception as exc:  # the part is down: say so, never a 500
            results[name] = f"{type(exc).__name__}: {str(exc)[:200]}"
    return results
