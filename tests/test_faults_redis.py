"""Redis restarted under a running worker (issue "Nothing lost, nothing billed twice").

The scale-out profile's broker is Redis. Here the test runs its own redis-server (never the
machine's shared one on 6379, which other tests use), keeping nothing on disk as a cache-only
Redis does, kills it with -9 while a real Celery worker process has one call in flight at a
real simulator and one job waiting in Redis, and starts it again on the same port. What must
hold: the worker process lives on and reconnects by itself; the call in flight ends once;
the job whose message died with Redis is recovered by the sweep (its message is re-sent);
an image submitted after the restart goes through; and every job ends with the ledger
billing exactly what the simulator billed.

If the worker process did die, `make run` would start it again (imagestudio/launcher.py,
1, 2, 4 … 60 s later); this test proves that is not needed: the same process carries on.

Runs in the scale-out run (PostgreSQL, tests/scaleout.py); without a redis-server binary it
skips with a message, except under CI=true, where it fails."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from django.db.models import Sum

from imagestudio import catalog
from imagestudio.celery import app as celery_app
from imagestudio.spend.models import Attempt
from imagestudio.studio.models import Generation, Status
from imagestudio.studio.tasks import sweep

from .conftest import ROOT, free_port, running_simulator
from .test_faults_lost import simulator_billed, simulator_health
from .test_integration import (
    _database_url,
    _drop_broker_connections,
    post,
    stop,
    token,  # noqa: F401
    wait_until,
)

pytestmark = [pytest.mark.scaleout, pytest.mark.django_db(transaction=True)]

# Celery's default queue: a Redis list of that name holds the messages nobody took yet.
QUEUE = "celery"
PRICE = catalog.gateway_price(catalog.ALL)


class RedisServer:
    """A private redis-server on one port that can be killed and started again there."""

    def __init__(self, binary: str, folder: Path) -> None:
        self.binary = binary
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None
        self.log = (folder / "redis.log").open("ab")

    def start(self) -> None:
        # --save "" and --appendonly no: nothing survives a restart, so a message in Redis
        # when it dies is gone (the worst case; a Redis with AOF would keep it).
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_until(self._answers, 10, f"redis-server on port {self.port}")

    def _answers(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.RedisError:
            return False

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()  # SIGKILL: no shutdown, no save
        self.proc.wait(10)

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.kill()
        self.log.close()


@pytest.fixture
def redis_server(tmp_path) -> Iterator[RedisServer]:
    binary = shutil.which("redis-server")
    if binary is None:
        message = "redis-server is not installed here: the Redis restart test needs it"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    folder = tmp_path / "redis"
    folder.mkdir()
    server = RedisServer(binary, folder)
    server.start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def redis_broker(redis_server, monkeypatch) -> Iterator[str]:
    """This process's Celery app (the web side, which sends the jobs) on the private Redis."""
    # Celery reads CELERY_BROKER_URL from the environment before its own setting, and the
    # scale-out run sets it to the shared Redis.
    monkeypatch.setenv("CELERY_BROKER_URL", redis_server.url)
    saved = (celery_app.conf.broker_url, celery_app.conf.broker_transport_options)
    celery_app.conf.broker_url = redis_server.url
    celery_app.conf.broker_transport_options = {}
    _drop_broker_connections()
    yield redis_server.url
    celery_app.conf.broker_url, celery_app.conf.broker_transport_options = saved
    _drop_broker_connections()


def start_one_slot_worker(settings, tmp_path: Path, simulator: str, broker: str, log: Path):
    """A worker process as `start_worker` starts it, with one thread (so a second job waits
    in Redis, not in the worker: prefetch is 1 with acks_late) and its log kept."""
    env = {
        **os.environ,
        "IMAGESTUDIO_DATA_DIR": str(tmp_path),
        "DATABASE_URL": _database_url(settings),
        "CELERY_BROKER_URL": broker,
        "IMAGESTUDIO_API_BASE_URL": simulator,
        "IMAGESTUDIO_API_KEY": "sk-test-key",
        "IMAGESTUDIO_RETRY_BASE_DELAY": "0",
        "PYTHONUNBUFFERED": "1",
    }
    argv = [sys.executable, "-m", "celery", "-A", "imagestudio", "worker", "--pool", "threads"]
    argv += ["--concurrency", "1", "--loglevel", "WARNING", "--without-gossip", "--without-mingle"]
    with log.open("ab") as out:
        return subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def status(pk: int) -> str:
    return Generation.objects.get(pk=pk).status


def submit(client, secret: str, prompt: str) -> int:
    response = post(client, secret, {"model": catalog.ALL, "prompt": prompt})
    assert response.status_code == 202, response.content
    [generation] = response.json()["generations"]
    return generation["id"]


def test_a_redis_restart_under_a_running_worker_loses_no_job_and_bills_none_twice(
    client,
    settings,
    tmp_path,
    redis_server,
    redis_broker,
    token,  # noqa: F811
):
    settings.REQUEUE_QUEUED_SECONDS = 600  # long: the sweep re-sends nothing during this test
    log = tmp_path / "worker.log"
    with running_simulator("--latency", "0") as base:
        worker = start_one_slot_worker(settings, tmp_path, base, redis_broker, log)
        try:
            first = submit(client, token, "before the restart")
            wait_until(lambda: status(first) == Status.SUCCEEDED, 60, "the first image")

            # One call in flight at the gateway (4 s long) and one job behind it in Redis.
            in_flight = submit(client, token, "[sim:latency=4] in flight across the restart")
            wait_until(lambda: simulator_health(base)["in_flight"] == 1, 30, "the call sent")
            waiting = submit(client, token, "waiting in Redis across the restart")
            wait_until(lambda: redis_server.client().llen(QUEUE) == 1, 10, "its message")
            assert status(waiting) == Status.QUEUED

            redis_server.kill()
            # The worker has seen the broker go and failed a reconnect while it was away
            # (after it dropped the old connection, so nothing is put back into the new
            # Redis from it); then Redis comes back on the same port, empty.
            wait_until(lambda: "Cannot connect to redis://" in log.read_text(), 20, "a retry")
            redis_server.start()
            assert worker.poll() is None, log.read_text()
            assert redis_server.client().llen(QUEUE) == 0  # the waiting job's message is gone
            # The call is still at the gateway: the restart happened under it.
            assert status(in_flight) == Status.RUNNING

            # The worker declares its queue again in the new Redis once it reconnects.
            wait_until(
                lambda: redis_server.client().exists(f"_kombu.binding.{QUEUE}"),
                30,
                "the worker to reconnect",
            )
            after = submit(client, token, "after the restart")
            wait_until(lambda: status(after) == Status.SUCCEEDED, 60, "the image sent after")
            assert status(in_flight) == Status.SUCCEEDED

            # Nothing delivers the waiting job any more: its message died with Redis.
            assert status(waiting) == Status.QUEUED
            assert sweep()["requeued"] == 0  # not due yet: it was sent seconds ago
            # The sweep re-sends a queued job nobody took for REQUEUE_QUEUED_SECONDS (at
            # least 30 s from the environment); one second here stands in for the wait.
            settings.REQUEUE_QUEUED_SECONDS = 1
            assert sweep()["requeued"] == 1
            wait_until(lambda: status(waiting) == Status.SUCCEEDED, 60, "the recovered job")
            assert sweep()["requeued"] == 0

            assert worker.poll() is None, log.read_text()  # the same process throughout
        finally:
            stop(worker)
        billed_by_simulator = simulator_billed(base)

    jobs = [first, in_flight, waiting, after]
    assert {pk: status(pk) for pk in jobs} == {pk: Status.SUCCEEDED for pk in jobs}
    # One call each, billed once each, as the gateway billed them.
    for pk in jobs:
        rows = list(Generation.objects.get(pk=pk).attempt_rows.values_list("outcome", "billed"))
        assert rows == [("image", True)], (pk, rows)
    billed = Attempt.objects.filter(billed=True)
    assert billed.count() == billed_by_simulator == len(jobs)
    assert billed.aggregate(total=Sum("amount"))["total"] == len(jobs) * PRICE
