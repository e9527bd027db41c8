"""The scale-out run of `make test`: the end-to-end tests again, on PostgreSQL and Redis.

Where those servers do not answer, say so and skip — except under CI=true, where the
machine has them and a silent skip would hide a broken profile."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

POSTGRES = os.environ.get("SCALEOUT_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/imagestudio")
REDIS = os.environ.get("SCALEOUT_REDIS_URL", "redis://127.0.0.1:6379")
TESTS = [
    # The profile started as it is deployed: the Procfile under honcho (web, worker, beat).
    "tests/test_procfile.py",
    "tests/test_integration.py",
    # A worker killed mid-call: billed once, as the simulator billed it.
    "tests/test_faults_lost.py",
    # Its own Redis killed and started again under a worker: nothing lost or billed twice.
    "tests/test_faults_redis.py",
    # The gateway slots' lock is a PostgreSQL advisory lock there.
    "tests/test_faults_fairness.py",
    # /healthz checks the Redis broker and cache.
    "tests/test_ops.py",
    "tests/test_tasks.py",
    "tests/test_models.py",
    # 20 parallel submits at a cap that fits 5 (service and HTTP API): the budget row lock.
    "tests/test_spend_concurrency.py",
    # The dashboard's PostgreSQL-only path (percentile_cont) and the spend API.
    "tests/test_spend_dashboard.py",
    "tests/test_api_spend.py",
    # PostgreSQL stores no NUL character (SQLite does): any input with one is still a 400.
    "tests/test_parsing.py",
]


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def main() -> int:
    missing = [
        name
        for name, port in (
            ("PostgreSQL on 127.0.0.1:5432", 5432),
            ("Redis on 127.0.0.1:6379", 6379),
        )
        if not _reachable("127.0.0.1", port)
    ]
    if missing:
        message = f"scale-out tests: {' and '.join(missing)} not reachable"
        if os.environ.get("CI") == "true":
            print(f"error: {message}, and CI=true requires them", file=sys.stderr)
            return 1
        print(f"SKIPPED {message}; they run under CI=true.")
        return 0
    env = {
        **os.environ,
        "DATABASE_URL": POSTGRES,
        "CELERY_BROKER_URL": f"{REDIS}/15",
        "IMAGESTUDIO_CACHE_URL": f"{REDIS}/14",
        "SCALEOUT_RUN": "1",
    }
    print("scale-out tests: PostgreSQL + Redis broker + Redis cache", flush=True)
    # Two test workers, whole files each: each gets its own PostgreSQL database
    # (pytest-django) and its own Redis databases (tests/conftest.py).
    return subprocess.call(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2", *TESTS],
        env=env,
    )


if __name__ == "__main__":
    sys.exit(main())
