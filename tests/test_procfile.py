"""The Procfile starts the studio under a Procfile runner (honcho): web, worker and beat.

Runs in the scale-out run (tests/scaleout.py), on PostgreSQL + Redis: it is how that
profile is started."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from .conftest import ROOT, free_port, wait_for_http
from .test_integration import _database_url, broker, token, wait_until  # noqa: F401

pytestmark = [pytest.mark.scaleout, pytest.mark.django_db(transaction=True)]
BIN = Path(sys.executable).parent


def test_the_procfile_serves_the_studio_and_its_worker_makes_images(
    settings,
    tmp_path,
    simulator_url,
    broker,  # noqa: F811
    token,  # noqa: F811
):
    port = free_port()
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "IMAGESTUDIO_DATA_DIR": str(tmp_path),
        "DATABASE_URL": _database_url(settings),
        "CELERY_BROKER_URL": broker,
        "IMAGESTUDIO_API_BASE_URL": simulator_url,
        "IMAGESTUDIO_API_KEY": "sk-test-key",
        "IMAGESTUDIO_RETRY_BASE_DELAY": "0",
        "IMAGESTUDIO_WEB_WORKERS": "1",
        "IMAGESTUDIO_WORKER_CONCURRENCY": "4",
        "PYTHONUNBUFFERED": "1",
    }
    honcho = subprocess.Popen(
        [str(BIN / "honcho"), "start", "-f", str(ROOT / "Procfile"), "-p", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/accounts/login/", 60, honcho)
        api = httpx.Client(
            base_url=f"http://127.0.0.1:{port}/api/v1",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        submitted = api.post(
            "/generations", json={"model": "gpt-image-2-all", "prompt": "a poster", "count": 2}
        )
        assert submitted.status_code == 202, submitted.text
        ids = [g["id"] for g in submitted.json()["generations"]]

        def done() -> bool:
            return all(api.get(f"/generations/{pk}").json()["status"] == "succeeded" for pk in ids)

        wait_until(done, 90, "the Procfile's worker to make both images")
        # The worker's heartbeat reaches the web's health check.
        health = f"http://127.0.0.1:{port}/healthz"
        wait_until(lambda: httpx.get(health, timeout=10).status_code == 200, 30, "healthz ok")
    finally:
        if honcho.poll() is None:
            os.killpg(honcho.pid, signal.SIGTERM)
        try:
            output, _ = honcho.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(honcho.pid, signal.SIGKILL)
            output, _ = honcho.communicate()
    for name in ("web.1", "worker.1", "beat.1"):
        assert f"{name} " in output or f"{name}|" in output, output[-3000:]
