"""Database connections and the broker under load and faults (issue 12, found by bench i).

Two workers of 64 threads each kept a PostgreSQL connection of their own, past the
server's max_connections: claims failed and their jobs were dropped until the sweep. Now
PostgreSQL gets a pool per process, a worker gives its connection back before it waits on
the gateway, a claim that cannot connect is delivered again, and a submit while the broker
is down is accepted and left to the sweep."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from unittest import mock

import pytest
from django.db import OperationalError, connection
from django.utils import timezone

from imagestudio.studio import tasks
from imagestudio.studio.models import Generation, Status
from tests.conftest import ROOT
from tests.factories import make_generation, make_token


def _database_settings(**env: str) -> dict:
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("IMAGESTUDIO_DB", "DATABASE"))
    }
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json; from django.conf import settings as s; "
            "d = s.DATABASES['default']; "
            "print(json.dumps([d['CONN_MAX_AGE'], d.get('OPTIONS', {}).get('pool')]))",
        ],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "imagestudio.settings", **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_postgresql_gets_a_pool_per_process_and_sqlite_keeps_its_connection(tmp_path):
    data = str(tmp_path)
    max_age, pool = _database_settings(
        IMAGESTUDIO_DATA_DIR=data,
        DATABASE_URL="postgres://studio@127.0.0.1:5432/imagestudio",
        IMAGESTUDIO_DB_POOL_SIZE="7",
    )
    # A pooled connection goes back at the end of each request or job step (age 0).
    assert (max_age, pool) == (0, {"min_size": 1, "max_size": 7, "timeout": 60})
    assert _database_settings(IMAGESTUDIO_DATA_DIR=data) == [60, None]


@pytest.mark.django_db(transaction=True)
def test_a_worker_gives_its_connection_back_before_it_waits_on_the_gateway(owner):
    generation = make_generation(owner)
    connection.ensure_connection()
    with mock.patch.dict(connection.settings_dict, {"CONN_MAX_AGE": 0}):
        connection.close()
        connection.ensure_connection()  # opened under the pool's age of 0
        tasks._released(generation.mark_calling)()
        assert connection.connection is None
    assert Generation.objects.get(pk=generation.pk).calling_since is not None
    # SQLite's kept connection (age 60) is left open: reopening costs every step.
    connection.close()
    connection.ensure_connection()
    tasks._released(generation.mark_calling)()
    assert connection.connection is not None


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_gives_its_connection_back_between_beats(owner):
    generation = make_generation(owner, status=Status.RUNNING)
    beat = tasks._Heartbeat()
    beat._ids.add(generation.pk)
    beat._stop.set()  # one beat, then no wait
    with mock.patch.dict(connection.settings_dict, {"CONN_MAX_AGE": 0}):
        connection.close()
        beat._run()  # in this thread: its connection is this thread's
        assert connection.connection is None
    assert Generation.objects.get(pk=generation.pk).heartbeat_at is not None


@pytest.mark.django_db
def test_a_claim_that_cannot_reach_the_database_is_delivered_again(owner, gateway):
    generation = make_generation(owner, size="1280x720")
    real = Generation.take_fairly
    with mock.patch.object(
        Generation,
        "take_fairly",
        side_effect=[OperationalError("the pool timed out"), real(generation.pk)],
    ) as take:
        result = tasks.run_generation.apply(args=(generation.pk,))
    # Celery runs the retry at once when applied in-process; a worker waits 1 s first.
    # .result, not .get(): an in-process worker started earlier in this test process
    # leaves Celery's process-wide "joining would block" flag set, and get() refuses.
    assert result.successful() and result.result == "succeeded"
    assert take.call_count == 2
    generation.refresh_from_db()
    assert generation.status == Status.SUCCEEDED
    assert generation.attempt_rows.filter(billed=True).count() == 1


@pytest.mark.django_db
def test_a_submit_while_the_broker_is_down_is_accepted_and_sent_by_the_sweep(
    owner, client, settings, django_capture_on_commit_callbacks
):
    _token, raw = make_token(owner)
    down = ConnectionRefusedError(111, "Connection refused")
    with (
        mock.patch.object(tasks.run_generation, "delay", side_effect=down) as send,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = client.post(
            "/api/v1/generations",
            {"model": "gpt-image-2-all", "prompt": "a lighthouse at dusk"},
            content_type="application/json",
            headers={"Authorization": f"Bearer {raw}"},
        )
    assert response.status_code == 202, response.content
    assert send.call_count == 1
    [pk] = [g["id"] for g in response.json()["generations"]]
    assert Generation.objects.get(pk=pk).status == Status.QUEUED

    # The broker is back; once the job has waited long enough the sweep sends it.
    Generation.objects.filter(pk=pk).update(
        sent_at=timezone.now() - timedelta(seconds=settings.REQUEUE_QUEUED_SECONDS + 5)
    )
    with mock.patch.object(tasks.run_generation, "delay") as send_again:
        report = tasks.sweep()
    assert send_again.call_args_list == [mock.call(pk)]
    assert report["requeued"] == 1
