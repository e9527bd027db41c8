"""gunicorn's defaults for the studio: `gunicorn -c python:imagestudio.gunicorn_conf
imagestudio.wsgi:application` (make run, the Procfile and the systemd unit all start it so;
a flag on the command line still wins over a value here).

A request is Python work under one interpreter lock per process, so the web gets one
process per core it may run on: fewer leaves cores idle, more only adds context switches
and database connections. Threads cover the time a request waits (the database, the cache,
a ZIP streaming to a slow client); they stay within a process's PostgreSQL pool
(IMAGESTUDIO_DB_POOL_SIZE, 10), or a thread would wait for a connection."""

from __future__ import annotations

import os

from imagestudio.env import env_int


def cores() -> int:
    """The cores this process may run on (a container's CPU set, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


worker_class = "gthread"
workers = env_int("IMAGESTUDIO_WEB_WORKERS", cores(), minimum=1)
threads = env_int("IMAGESTUDIO_WEB_THREADS", 8, minimum=1)
# Longer than the pages' 2-second poll: a browser's connection is still open for the next
# one, instead of a new connection (and a thread hand-off) every time.
keepalive = 5
graceful_timeout = 30
accesslog = "-"
