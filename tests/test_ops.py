"""GET /healthz and GET /metrics (issue 12, part 8)."""

from __future__ import annotations

import time

import pytest
from django.core.cache import cache
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from imagestudio import catalog
from imagestudio.ops import checks
from imagestudio.studio.models import Generation
from imagestudio.studio.tasks import _Heartbeat, run_generation, sweep
from tests.factories import make_generation

pytestmark = pytest.mark.django_db


@pytest.fixture
def worker_alive():
    checks.worker_beat()
    yield
    cache.delete(checks.WORKER_BEAT_KEY)


def test_healthz_is_ok_for_anyone_while_every_part_works(client, worker_alive):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "broker": "ok", "storage": "ok", "workers": "ok"},
    }


def test_healthz_names_the_workers_when_none_beat(client):
    cache.delete(checks.WORKER_BEAT_KEY)
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["workers"] and "heartbeat" in body["checks"]["workers"]
    assert body["checks"]["database"] == "ok"


def test_healthz_names_storage_when_it_cannot_write(client, settings, tmp_path, worker_alive):
    blocked = tmp_path / "media-out"
    blocked.write_text("not a folder")
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(blocked)},
        },
    }
    response = client.get("/healthz")
    assert response.status_code == 503 and response.json()["failing"] == ["storage"]


def test_a_workers_heartbeat_thread_beats_for_the_worker_when_idle(settings):
    cache.delete(checks.WORKER_BEAT_KEY)
    beating = _Heartbeat()
    beating.in_worker = True  # as worker_ready sets it in a Celery worker process
    beating.start()
    try:
        deadline = time.monotonic() + 10
        while cache.get(checks.WORKER_BEAT_KEY) is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert checks.workers() == "ok"
    finally:
        beating.stop()
        cache.delete(checks.WORKER_BEAT_KEY)


def test_a_job_run_outside_a_worker_says_nothing_of_workers(owner, gateway):
    cache.delete(checks.WORKER_BEAT_KEY)
    beating = _Heartbeat()
    with beating.tracking(make_generation(owner).pk):
        time.sleep(0.2)
    beating.stop()
    assert cache.get(checks.WORKER_BEAT_KEY) is None


def test_metrics_need_staff_or_the_token(owner, admin_client_, settings):
    settings.METRICS_TOKEN = "scrape-me-please"
    client = Client()
    owner_client = Client()
    owner_client.force_login(owner)
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert owner_client.get("/metrics").status_code == 403
    assert admin_client_.get("/metrics").status_code == 200
    ok = client.get("/metrics", headers={"Authorization": "Bearer scrape-me-please"})
    assert ok.status_code == 200 and ok["Content-Type"].startswith("text/plain")


def test_metrics_without_a_token_set_refuse_every_bearer(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 401


def samples(response) -> dict[tuple[str, tuple], float]:
    out = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def test_metrics_count_images_attempts_spend_queue_and_sweeps(
    owner, admin_client_, gateway, settings
):
    done = make_generation(owner, model=catalog.ALL)
    run_generation(done.pk)
    make_generation(owner, model=catalog.ALL)  # queued
    lost = make_generation(owner)
    Generation.claim(lost.pk)
    lost.mark_calling()
    settings.STALE_RUNNING_SECONDS = 0
    sweep()
    got = samples(admin_client_.get("/metrics"))
    assert got[("imagestudio_generations", (("model", catalog.ALL), ("status", "succeeded")))] == 1
    assert got[("imagestudio_generations", (("model", catalog.VIP), ("status", "failed")))] == 1
    assert got[("imagestudio_gateway_attempts_total", (("billed", "true"), ("outcome", "image")))]
    assert got[("imagestudio_gateway_attempts_total", (("billed", "true"), ("outcome", "lost")))]
    spent = got[("imagestudio_spend_usd_total", (("model", catalog.ALL),))]
    assert spent == pytest.approx(float(catalog.price(catalog.ALL)))
    assert got[("imagestudio_queue_depth", ())] == 1
    assert got[("imagestudio_calls_in_flight", ())] == 0
    assert got[("imagestudio_oldest_queued_age_seconds", ())] >= 0
    assert got[("imagestudio_gateway_latency_seconds_count", ())] == 2
    assert got[("imagestudio_sweep_actions_total", (("action", "failed"),))] >= 1
    assert lost.pk
