"""End to end: the API submits a batch, a real Celery worker process (threads pool) calls
the simulated gateway over HTTP, and the files land on storage.

Runs on the embedded profile (SQLite file + filesystem broker) in every suite, and on
PostgreSQL + Redis when the scale-out run sets DATABASE_URL and CELERY_BROKER_URL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from PIL import Image

from imagestudio.celery import app as celery_app
from imagestudio.studio.models import Generation, Status
from imagestudio.studio.tasks import sweep

from .conftest import ROOT
from .factories import make_token

pytestmark = pytest.mark.django_db(transaction=True)


def _database_url(settings) -> str:
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{user}@{host}:{port}/{db['NAME']}"


@pytest.fixture
def broker(settings, tmp_path):
    """Point this process's Celery app at a broker the test's worker also uses."""
    url = os.environ.get("CELERY_BROKER_URL", "filesystem://")
    options = {}
    if url.startswith("filesystem://"):
        folder = tmp_path / "broker"
        for sub in ("out", "processed", "control"):
            (folder / sub).mkdir(parents=True)
        options = {
            "data_folder_in": str(folder / "out"),
            "data_folder_out": str(folder / "out"),
            "processed_folder": str(folder / "processed"),
            "control_folder": str(folder / "control"),
            "store_processed": False,
        }
    saved = (celery_app.conf.broker_url, celery_app.conf.broker_transport_options)
    celery_app.conf.broker_url = url
    celery_app.conf.broker_transport_options = options
    _drop_broker_connections()
    if not url.startswith("filesystem://"):
        celery_app.control.purge()  # messages left by an earlier run on a shared server
    yield url
    celery_app.conf.broker_url, celery_app.conf.broker_transport_options = saved
    _drop_broker_connections()


def _drop_broker_connections() -> None:
    # kombu keeps pools in a process-wide registry keyed by URL; a closed pool left there
    # fails every later send ("Acquire on closed pool"), so clear the registry as well.
    from kombu import pools

    pools.reset()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


def start_worker(settings, tmp_path: Path, simulator_url: str, broker_url: str, **extra_env):
    env = {
        **os.environ,
        "IMAGESTUDIO_DATA_DIR": str(tmp_path),
        "DATABASE_URL": _database_url(settings),
        "CELERY_BROKER_URL": broker_url,
        "IMAGESTUDIO_API_BASE_URL": simulator_url,
        "IMAGESTUDIO_API_KEY": "sk-test-key",
        "IMAGESTUDIO_RETRY_BASE_DELAY": "0",
        "PYTHONUNBUFFERED": "1",
        **extra_env,
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "imagestudio",
            "worker",
            "--pool",
            "threads",
            "--concurrency",
            "8",
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


def wait_until(predicate, timeout: float = 60.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.fixture
def token(owner) -> str:
    return make_token(owner, "integration")[1]


def post(client, token: str, body: dict):
    return client.post(
        "/api/v1/generations",
        data=json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )


def get(client, token: str, pk: int) -> dict:
    return client.get(
        f"/api/v1/generations/{pk}", headers={"Authorization": f"Bearer {token}"}
    ).json()


def test_batch_through_api_with_live_worker(
    client, settings, tmp_path, simulator_url, broker, token
):
    worker = start_worker(settings, tmp_path, simulator_url, broker)
    try:
        vip = post(
            client,
            token,
            {"model": "gpt-image-2-vip", "prompt": "猫 on a sofa", "size": "1280x720", "count": 3},
        )
        assert vip.status_code == 202, vip.content
        all_ = post(
            client, token, {"model": "gpt-image-2-all", "prompt": "a poster", "size": "竖屏 9:16"}
        )
        corrupt = post(client, token, {"model": "gpt-image-2-all", "prompt": "[sim:corrupt] x"})
        ids = [g["id"] for r in (vip, all_, corrupt) for g in r.json()["generations"]]
        assert len(ids) == 5

        def finished():
            states = [get(client, token, pk) for pk in ids]
            return states if all(s["status"] not in ("queued", "running") for s in states) else None

        states = wait_until(finished, 90, "five generations to finish")
    finally:
        stop(worker)

    by_id = {s["id"]: s for s in states}
    for pk in ids[:3]:
        g = by_id[pk]
        assert g["status"] == "succeeded", g
        assert (g["width"], g["height"]) == (1280, 720)
        assert g["cost_usd"] in ("0.03", "0.0300") and g["billed"] is True
        assert g["upstream_request_ids"], "the gateway's request id is kept"
    portrait = by_id[ids[3]]
    assert portrait["status"] == "succeeded" and (portrait["width"], portrait["height"]) == (
        941,
        1672,
    )
    bad = by_id[ids[4]]
    assert bad["status"] == "failed" and bad["error"]["code"] == "bad_image"
    assert bad["billed"] is True, "an unreadable image was billed by the gateway all the same"

    for generation in Generation.objects.filter(status=Status.SUCCEEDED):
        assert default_storage.exists(generation.image.name)
        with default_storage.open(generation.thumbnail.name) as f:
            assert max(Image.open(f).size) == 512
        assert (tmp_path / "media" / generation.image.name).is_file()
        assert generation.attempt_rows.get().amount == Decimal("0.03")


def test_edit_then_iterate_through_api_with_live_worker(
    client, settings, tmp_path, simulator_url, broker, token
):
    import io

    photo = io.BytesIO()
    Image.new("RGB", (800, 600), (200, 40, 40)).save(photo, "JPEG")
    photo.seek(0)
    photo.name = "mug.jpg"
    auth = {"Authorization": f"Bearer {token}"}
    worker = start_worker(settings, tmp_path, simulator_url, broker)
    try:
        response = client.post(
            "/api/v1/edits",
            {
                "model": "gpt-image-2-vip",
                "size": "1280x720",
                "prompt": "make image1 blue",
                "image": photo,
            },
            headers=auth,
        )
        assert response.status_code == 202, response.content
        (edit,) = response.json()["generations"]
        edit = wait_until(
            lambda: (g := get(client, token, edit["id"]))["status"] == "succeeded" and g,
            60,
            "the edit to succeed",
        )
        turn = client.post(
            f"/api/v1/generations/{edit['id']}/iterate",
            data=json.dumps({"prompt": "now add steam"}),
            content_type="application/json",
            headers=auth,
        )
        assert turn.status_code == 202, turn.content
        (turn,) = turn.json()["generations"]
        turn = wait_until(
            lambda: (
                (g := get(client, token, turn["id"]))["status"] != "queued"
                and g["status"] != "running"
                and g
            ),
            60,
            "the turn to finish",
        )
    finally:
        stop(worker)

    assert (edit["width"], edit["height"]) == (1280, 720)
    assert edit["inputs"][0]["original_bytes"] > 0 and edit["inputs"][0]["sent_bytes"] > 0
    assert turn["status"] == "succeeded", turn
    assert turn["parents"] == [edit["id"]] and turn["thread"] == edit["id"]
    endpoints = [a.endpoint for a in Generation.objects.get(pk=turn["id"]).attempt_rows.all()]
    assert endpoints == ["chat/completions"]


def test_dead_worker_job_is_failed_by_the_sweep_and_not_rerun(
    client, settings, tmp_path, simulator_url, broker, token
):
    settings.STALE_RUNNING_SECONDS = 2
    worker = start_worker(
        settings, tmp_path, simulator_url, broker, IMAGESTUDIO_HEARTBEAT_SECONDS="1"
    )
    try:
        response = post(
            client, token, {"model": "gpt-image-2-all", "prompt": "[sim:latency=30] slow one"}
        )
        [g] = response.json()["generations"]
        wait_until(lambda: get(client, token, g["id"])["status"] == "running", 60, "running")
        # Killed once its request is at the gateway (a worker that dies before sending
        # leaves nothing billed, and that is another test's case).
        at_gateway = Generation.objects.filter(pk=g["id"], calling_since__isnull=False)
        wait_until(at_gateway.exists, 60, "the call at the gateway")
        os.killpg(worker.pid, signal.SIGKILL)  # the worker dies mid-call
        worker.wait(5)
        time.sleep(3)
        assert sweep()["failed"] == 1
    finally:
        stop(worker)
    state = get(client, token, g["id"])
    assert state["status"] == "failed"
    assert state["error"]["code"] == "worker_lost"
    # One billed `lost` row for the call the worker died in (the gateway bills it).
    assert Generation.objects.get(pk=g["id"]).attempts == 1
