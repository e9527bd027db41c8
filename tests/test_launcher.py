"""`make run` on a fresh data dir: everything starts, the admin password is printed once,
the simulated gateway is announced on the page, and Ctrl+C stops it all."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time

import httpx
import pytest

from .conftest import ROOT, free_port


@contextlib.contextmanager
def _launch(data_dir, port: int, concurrency: str = "4"):
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
        proc.data_dir = data_dir  # type: ignore[attr-defined]
        yield proc, f"http://127.0.0.1:{port}", lines
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture
def launched(tmp_path):
    with _launch(tmp_path / "data", free_port()) as running:
        yield running


def test_make_run_serves_the_studio_and_stops_on_ctrl_c(launched):
    proc, base, lines = launched
    output = "".join(lines)
    assert f"sign in at: {base}/accounts/login/" in output
    password = re.search(r"password:\s+(\S+)", output).group(1)
    assert "SIMULATED gateway" in output

    with httpx.Client(base_url=base, follow_redirects=True, timeout=10) as client:
        page = client.get("/")
        assert page.url.path == "/accounts/login/"
        assert "Simulated gateway" in page.text
        assert client.get("/static/studio.css").status_code == 200
        csrf = client.cookies["csrftoken"]
        signed_in = client.post(
            "/accounts/login/",
            data={"username": "admin", "password": password, "csrfmiddlewaretoken": csrf},
        )
        assert signed_in.url.path == "/"
        assert "Sign out" in signed_in.text or "sign out" in signed_in.text.lower()

    os.killpg(proc.pid, signal.SIGINT)
    started = time.monotonic()
    assert proc.wait(30) == 0
    assert time.monotonic() - started < 30


def test_second_start_prints_no_new_password(tmp_path):
    env = {**os.environ, "IMAGESTUDIO_DATA_DIR": str(tmp_path)}
    run = [sys.executable, "manage.py"]
    subprocess.run([*run, "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    first = subprocess.run(
        [*run, "bootstrap_admin"], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    second = subprocess.run(
        [*run, "bootstrap_admin"], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert "password:" in first.stdout
    assert "password:" not in second.stdout and "Sign in at" in second.stdout


def test_createsuperuser_noinput_from_environment(tmp_path):
    env = {
        **os.environ,
        "IMAGESTUDIO_DATA_DIR": str(tmp_path),
        "DJANGO_SUPERUSER_USERNAME": "ops",
        "DJANGO_SUPERUSER_PASSWORD": "a long enough password",
        "DJANGO_SUPERUSER_EMAIL": "ops@example.com",
    }
    run = [sys.executable, "manage.py"]
    subprocess.run([*run, "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run([*run, "createsuperuser", "--noinput"], cwd=ROOT, env=env, check=True)
    check = subprocess.run(
        [
            *run,
            "shell",
            "-c",
            "from django.contrib.auth import authenticate as a; "
            "u = a(username='ops', password='a long enough password'); print(u.is_superuser)",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert check.stdout.strip().splitlines()[-1] == "True"
    # bootstrap_admin sees the admin and prints no new password
    again = subprocess.run(
        [*run, "bootstrap_admin"], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert "password:" not in again.stdout


# -- supervision ------------------------------------------------------------------------
