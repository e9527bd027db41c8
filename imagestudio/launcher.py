"""`make run`: everything in the foreground, on embedded defaults.

Migrates, collects static files, creates the first admin (printing its password once),
starts the simulated gateway when no API key is set, a Celery worker (threads pool), the
beat scheduler for the stale-job sweep, and gunicorn; stops them all on Ctrl+C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

from imagestudio.env import EnvError, env_int, env_str

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"error: a process exited while starting (code {proc.returncode})")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"error: nothing answered on port {port} within {timeout:.0f} s")


def _manage(*args: str, env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)


def main() -> int:
    try:
        port = env_int("PORT", 8000, minimum=1)
        workers = env_int("IMAGESTUDIO_WEB_WORKERS", 2, minimum=1)
        concurrency = env_int("IMAGESTUDIO_WORKER_CONCURRENCY", 32, minimum=1)
        # Read every setting once here, so a bad value stops us with one line before
        # any process starts.
        import imagestudio.settings  # noqa: F401
    except EnvError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "imagestudio.settings")
    env.setdefault("PYTHONUNBUFFERED", "1")
    data_dir = Path(env.get("IMAGESTUDIO_DATA_DIR", str(ROOT / "var"))).resolve()
    env["IMAGESTUDIO_DATA_DIR"] = str(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)

    _manage("migrate", "--noinput", "-v0", env=env)
    _manage("collectstatic", "--noinput", "-v0", env=env)
    _manage("bootstrap_admin", "--url", f"http://127.0.0.1:{port}/accounts/login/", env=env)

    procs: list[tuple[str, subprocess.Popen[bytes]]] = []

    def spawn(name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        # Own process group: Ctrl+C in the terminal reaches us once, and we stop the
        # children in order instead of all of them racing to exit.
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, start_new_session=True)
        procs.append((name, proc))
        return proc

    try:
        if not env_str("IMAGESTUDIO_API_KEY"):
            sim_port = env_int("IMAGESTUDIO_SIMULATOR_PORT", 0) or _free_port()
            sim = spawn(
                "simulator",
                [sys.executable, "-m", "imagestudio.simulator", "--port", str(sim_port)]
                + env_str("IMAGESTUDIO_SIMULATOR_ARGS").split(),
            )
            _wait_for_port(sim_port, sim)
            env["IMAGESTUDIO_API_BASE_URL"] = f"http://127.0.0.1:{sim_port}/v1"
            env["IMAGESTUDIO_API_KEY"] = "simulated"
            env["IMAGESTUDIO_SIMULATED"] = "1"

        spawn(
            "worker",
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
                str(concurrency),
                "--loglevel",
                "INFO",
                "--hostname",
                f"worker-{os.getpid()}@%h",
            ],
        )
        spawn(
            "beat",
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "imagestudio",
                "beat",
                "--loglevel",
                "WARNING",
                "--schedule",
                str(data_dir / "celerybeat-schedule"),
            ],
        )
        web = spawn(
            "web",
            [
                sys.executable,
                "-m",
                "gunicorn",
                "imagestudio.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--worker-class",
                "gthread",
                "--workers",
                str(workers),
                "--threads",
                "8",
                "--access-logfile",
                "-",
            ],
        )
        _wait_for_port(port, web)
        mode = (
            "SIMULATED gateway (placeholder images, nothing billed)"
            if env.get("IMAGESTUDIO_SIMULATED") == "1"
            else env.get("IMAGESTUDIO_API_BASE_URL", "the gateway")
        )
        print(
            f"\nImageStudio is up: http://127.0.0.1:{port}/  — upstream: {mode}. Ctrl+C stops.\n",
            flush=True,
        )

        stop = {"signal": False}

        def _on_signal(signum: int, frame: FrameType | None) -> None:
            stop["signal"] = True

        signal.signal(signal.SIGINT, _on_signal)
        signal.signal(signal.SIGTERM, _on_signal)
        while not stop["signal"]:
            for name, proc in procs:
                if proc.poll() is not None:
                    print(
                        f"error: {name} exited with code {proc.returncode}; stopping.",
                        file=sys.stderr,
                    )
                    return 1
            time.sleep(0.5)
        return 0
    finally:
        for _, proc in reversed(procs):
            if proc.poll() is None:
                proc.terminate()
        for _, proc in reversed(procs):
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    sys.exit(main())
