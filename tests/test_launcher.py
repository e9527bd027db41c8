"""`make run`: everything starts on a fresh data dir, the admin password is printed once, the
simulated gateway is announced on the page; a killed child is started again; Ctrl+C lets
the calls in flight finish and stops it all; images still queued are made after the next
start.

Each start of the whole studio costs some 20 s of CPU (five Django processes), so the life
of one studio is one test, told in order; the admin commands run in this process."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from io import StringIO

import httpx
from django.contrib.auth import authenticate
from django.core.management import call_command

from .conftest import ROOT, free_port
from .test_integration import wait_until


@contextlib.contextmanager
def _launch(data_dir, port: int, concurrency: str):
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("IMAGESTUDIO_", "DATABASE_URL", "CELERY_"))
    }
    env.update(
        PORT=str(port),
        IMAGESTUDIO_DATA_DIR=str(data_dir),
        IMAGESTUDIO_WORKER_CONCURRENCY=concurrency,
        IMAGESTUDIO_WEB_WORKERS="1",
        IMAGESTUDIO_SIMULATOR_ARGS="--latency 0.2",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "imagestudio.launcher"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        for line in proc.stdout:
            lines.append(line)
            if "ImageStudio is up" in line:
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        assert ready.wait(90), "launcher did not come up:\n" + "".join(lines[-40:])
        yield proc, f"http://127.0.0.1:{port}", lines
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


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


def _pid(lines: list[str], name: str) -> int:
    found = [
        int(m.group(1)) for line in lines if (m := re.match(rf"{name} started \(pid (\d+)\)", line))
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


def _stop(proc, api: _Api) -> None:
    # gunicorn's graceful stop waits for open keep-alive connections: close ours first.
    api.http.close()
    os.killpg(proc.pid, signal.SIGINT)
    started = time.monotonic()
    assert proc.wait(60) == 0
    assert time.monotonic() - started < 30


def _sign_in(base: str, password: str) -> None:
    with httpx.Client(base_url=base, follow_redirects=True, timeout=10) as client:
        page = client.get("/")
        assert page.url.path == "/accounts/login/"
        assert "Simulated gateway" in page.text
        assert client.get("/static/studio.css").status_code == 200
        signed_in = client.post(
            "/accounts/login/",
            data={
                "username": "admin",
                "password": password,
                "csrfmiddlewaretoken": client.cookies["csrftoken"],
            },
        )
        assert signed_in.url.path == "/"
        assert "sign out" in signed_in.text.lower()


def test_make_run_restarts_a_dead_worker_and_makes_what_was_queued_at_ctrl_c_on_the_next_start(
    tmp_path,
):
    data, port = tmp_path / "data", free_port()
    with _launch(data, port, concurrency="2") as (proc, base, lines):
        output = "".join(lines)
        assert f"sign in at: {base}/accounts/login/" in output
        assert "SIMULATED gateway" in output
        _sign_in(base, re.search(r"password:\s+(\S+)", output).group(1))
        api = _Api(base, _api_token(data))

        # A worker killed outright is started again, with one line saying so, and works.
        first = _pid(lines, "worker")
        assert first
        os.killpg(first, signal.SIGKILL)
        wait_until(lambda: _pid(lines, "worker") != first, 30, "a new worker")
        said = [line for line in lines if line.startswith("worker exited")]
        assert said == [
            f"worker exited with code -{int(signal.SIGKILL)}; starting it again in 1 s\n"
        ]
        after_restart = api.submit("after the restart")
        wait_until(
            lambda: api.status(after_restart) == "succeeded", 60, "the image after the restart"
        )

        # Ctrl+C with both slots at the gateway and two images waiting behind them.
        ids = [api.submit(f"[sim:latency=3] queued {i}") for i in range(4)]

        def two_running() -> set[int] | None:
            statuses = {pk: api.status(pk) for pk in ids}
            running = {pk for pk, status in statuses.items() if status == "running"}
            waiting = set(statuses.values()) <= {"running", "queued"}
            return running if len(running) == 2 and waiting else None

        running = wait_until(two_running, 30, "two calls to start")
        started = time.monotonic()
        _stop(proc, api)
        assert time.monotonic() - started < 10, "the web and beat stop at once; the calls take 3 s"
        assert [line for line in lines if "exited with code" in line] == said
    with sqlite3.connect(data / "db.sqlite3") as db:
        before = dict(db.execute("select id, status from studio_generation"))
    # The calls in flight finished in the grace, before the simulator was stopped.
    assert {pk for pk in ids if before[pk] == "succeeded"} == running
    assert sorted(before[pk] for pk in set(ids) - running) == ["queued", "queued"]

    with _launch(data, port, concurrency="4") as (proc, base, lines):
        assert "password:" not in "".join(lines)
        assert f"Sign in at {base}/accounts/login/" in "".join(lines)
        api = _Api(base, _api_token(data))
        wait_until(
            lambda: all(api.status(pk) == "succeeded" for pk in ids), 60, "the queued images"
        )
        _stop(proc, api)
    with sqlite3.connect(data / "db.sqlite3") as db:
        [(billed,)] = db.execute("select count(*) from spend_attempt where billed")
    assert billed == 1 + len(ids)  # each image billed once: nothing sent twice


def test_bootstrap_admin_prints_a_password_only_the_first_time(db):
    first, second = StringIO(), StringIO()
    call_command("bootstrap_admin", stdout=first)
    call_command("bootstrap_admin", stdout=second)
    assert "password:" in first.getvalue()
    assert "password:" not in second.getvalue() and "Sign in at" in second.getvalue()


def test_createsuperuser_noinput_takes_the_admin_from_the_environment(db, monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "ops")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a long enough password")
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "ops@example.com")
    call_command("createsuperuser", interactive=False, stdout=StringIO())
    user = authenticate(username="ops", password="a long enough password")
    assert user is not None and user.is_superuser
    # bootstrap_admin sees the admin and prints no new password.
    again = StringIO()
    call_command("bootstrap_admin", stdout=again)
    assert "password:" not in again.getvalue()


def test_prepare_migrates_collects_the_static_files_and_makes_the_first_admin(
    db, settings, tmp_path
):
    settings.STATIC_ROOT = tmp_path / "static"
    out = StringIO()
    call_command("prepare", url="http://studio.example/accounts/login/", stdout=out)
    assert "sign in at: http://studio.example/accounts/login/" in out.getvalue()
    assert (tmp_path / "static" / "studio.css").exists()
    again = StringIO()
    call_command("prepare", stdout=again)
    assert "password:" not in again.getvalue()
