"""make run's supervision, in its own file so that the test workers share the launcher's
slow tests (each starts the whole studio): a killed worker comes back, Ctrl+C lets a call
in flight finish, and images queued at a stop are made after the next start."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time

import httpx

from .conftest import ROOT, free_port
from .test_launcher import _launch, launched  # noqa: F401  (the fixture)


def _api_token(data_dir) -> str:
    env = {**os.environ, "IMAGESTUDIO_DATA_DIR": str(data_dir)}
    out = subprocess.run(
        [sys.executable, "manage.py", "issue_api_token", "admin"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip().splitlines()[-1]


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _pid(lines: list[str], name: str, after: int = 0) -> int:
    found = [
        int(m.group(1))
        for line in lines[after:]
        if (m := re.match(rf"{name} started \(pid (\d+)\)", line))
    ]
    return found[-1] if found else 0


class _Api:
    def __init__(self, base: str, token: str) -> None:
        self.http = httpx.Client(
            base_url=f"{base}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=10
        )

    def submit(self, prompt: str) -> int:
        response = self.http.post(
            "/generations", json={"model": "gpt-image-2-all", "prompt": prompt}
        )
        assert response.status_code == 202, response.text
        return response.json()["generations"][0]["id"]

    def status(self, pk: int) -> str:
        return self.http.get(f"/generations/{pk}").json()["status"]


def test_a_worker_killed_under_make_run_is_started_again_and_takes_the_next_image(launched):  # noqa: F811
    proc, base, lines = launched
    api = _Api(base, _api_token(proc.data_dir))
    first = _pid(lines, "worker")
    assert first
    os.killpg(first, signal.SIGKILL)
    _wait(lambda: _pid(lines, "worker") != first, 30, "a new worker")
    said = [line for line in lines if line.startswith("worker exited")]
    assert said == [f"worker exited with code -{int(signal.SIGKILL)}; starting it again in 1 s\n"]
    pk = api.submit("after the restart")
    _wait(lambda: api.status(pk) == "succeeded", 60, "the next image")
    os.killpg(proc.pid, signal.SIGINT)
    assert proc.wait(60) == 0


def test_ctrl_c_lets_a_call_in_flight_finish_before_the_simulator_stops(launched):  # noqa: F811
    proc, base, lines = launched
    api = _Api(base, _api_token(proc.data_dir))
    pk = api.submit("[sim:latency=3] a slow one")
    _wait(lambda: api.status(pk) == "running", 30, "the call to start")
    os.killpg(proc.pid, signal.SIGINT)
    assert proc.wait(60) == 0
    with sqlite3.connect(proc.data_dir / "db.sqlite3") as db:
        [(status,)] = db.execute("select status from studio_generation where id = ?", (pk,))
    assert status == "succeeded"
    assert not any("exited with code" in line for line in lines)


def test_images_queued_when_the_studio_stops_are_made_after_it_starts_again(tmp_path):
    data, port = tmp_path / "data", free_port()
    with _launch(data, port, concurrency="1") as (proc, base, lines):
        api = _Api(base, _api_token(data))
        ids = [api.submit(f"[sim:latency=2] queued {i}") for i in range(4)]
        _wait(lambda: api.status(ids[0]) == "running", 30, "the first call to start")
        os.killpg(proc.pid, signal.SIGINT)
        assert proc.wait(60) == 0
    with sqlite3.connect(data / "db.sqlite3") as db:
        before = dict(db.execute("select id, status from studio_generation"))
    assert before[ids[0]] == "succeeded"  # the call in flight finished in the grace
    assert "queued" in before.values()
    with _launch(data, port, concurrency="4") as (proc, base, lines):
        api = _Api(base, _api_token(data))
        _wait(lambda: all(api.status(pk) == "succeeded" for pk in ids), 60, "all four")
        os.killpg(proc.pid, signal.SIGINT)
        assert proc.wait(60) == 0
    with sqlite3.connect(data / "db.sqlite3") as db:
        [(billed,)] = db.execute("select count(*) from spend_attempt where billed")
    assert billed == 4  # each image billed once: nothing sent twice
