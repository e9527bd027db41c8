"""`make run`: everything in the foreground, on embedded defaults, supervised.

Migrates, collects static files, creates the first admin (printing its password once),
starts the simulated gateway when no API key is set, a Celery worker (threads pool), the
beat scheduler for the stale-job sweep, and gunicorn. A child that exits is started
again (one line on stderr naming it and its exit code), after 1 s, 2 s, 4 s … up to 60 s
while it keeps dying. Ctrl+C or SIGTERM stops them all: the web and beat first, then the
worker, which is given IMAGESTUDIO_SHUTDOWN_GRACE_SECONDS to finish the calls it has at
the gateway, and the simulator last, so those calls still get their answers."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TextIO

from imagestudio.env import EnvError, env_int, env_str

ROOT = Path(__file__).resolve().parent.parent
MAX_BACKOFF_SECONDS = 60.0
# A child that stayed up this long is healthy again: its next exit restarts it after 1 s.
STABLE_SECONDS = 60.0
# How long the web, beat and simulator get to stop on SIGTERM before SIGKILL.
STOP_SECONDS = 10.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _manage(*args: str, env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)


def backoff(failures: int) -> float:
    """Seconds before starting again a child that exited `failures` times in a row."""
    return min(MAX_BACKOFF_SECONDS, 2.0 ** max(0, failures - 1))


@dataclass
class Child:
    name: str
    argv: list[str]
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    failures: int = 0
    restart_at: float | None = None


class Supervisor:
    """Starts the children, starts again any that exits, and stops them in order."""

    def __init__(self, env: dict[str, str], err: TextIO = sys.stderr) -> None:
        self.env = env
        self.err = err
        self.children: dict[str, Child] = {}
        self.stopping = False

    def add(self, name: str, argv: list[str]) -> Child:
        child = self.children[name] = Child(name, argv)
        self._start(child)
        return child

    def _start(self, child: Child) -> None:
        # Own process group: Ctrl+C in the terminal reaches only us, and we stop the
        # children in order instead of all of them racing to exit.
        child.proc = subprocess.Popen(child.argv, cwd=ROOT, env=self.env, start_new_session=True)
        child.started_at = time.monotonic()
        child.restart_at = None
        print(f"{child.name} started (pid {child.proc.pid})", flush=True)

    def check(self) -> None:
        """One round: note the children that exited and start those whose wait is over."""
        now = time.monotonic()
        for child in self.children.values():
            if self.stopping:
                return
            if child.restart_at is not None:
                if now >= child.restart_at:
                    self._start(child)
                continue
            assert child.proc is not None
            code = child.proc.poll()
            if code is None:
                continue
            stable = now - child.started_at >= STABLE_SECONDS
            child.failures = 1 if stable else child.failures + 1
            delay = backoff(child.failures)
            print(
                f"{child.name} exited with code {code}; starting it again in {delay:g} s",
                file=self.err,
                flush=True,
            )
            child.restart_at = now + delay

    def wait_for_port(self, child: Child, port: int, timeout: float = 30.0) -> bool:
        """Whether `child` answers on `port` in time (False once a stop was asked for)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.stopping:
            assert child.proc is not None
            if child.proc.poll() is not None:
                raise SystemExit(
                    f"error: {child.name} exited while starting (code {child.proc.returncode})"
                )
            if _port_open(port):
                return True
            time.sleep(0.1)
        if self.stopping:
            return False
        raise SystemExit(f"error: nothing answered on port {port} within {timeout:.0f} s")

    def stop(self, grace: float) -> None:
        """The web, beat and worker are told at once (no new requests, no new task: a
        worker told only after the web had stopped would start the next queued calls
        meanwhile); the worker gets `grace` seconds for its calls in flight; then the
        simulator those calls are talking to."""
        self.stopping = True
        told = [
            child
            for name, child in self.children.items()
            if name != "simulator" and child.proc is not None and child.proc.poll() is None
        ]
        for child in told:
            assert child.proc is not None
            _signal(child.proc, signal.SIGTERM)
        for child in told:
            assert child.proc is not None
            _wait_or_kill(child.proc, grace if child.name == "worker" else STOP_SECONDS)
            if child.name == "worker" and child.proc.returncode == -signal.SIGKILL:
                print(
                    f"worker still had calls after {grace:g} s and was stopped; the sweep "
                    "reports them as lost (billed) at the next start",
                    file=self.err,
                    flush=True,
                )
        simulator = self.children.get("simulator")
        if simulator is not None and simulator.proc is not None and simulator.proc.poll() is None:
            _signal(simulator.proc, signal.SIGTERM)
            _wait_or_kill(simulator.proc, STOP_SECONDS)


def _signal(proc: subprocess.Popen[bytes], signum: int) -> None:
    # SIGTERM: gunicorn and the simulator stop, the Celery worker takes no new task and
    # waits for the ones it runs (a warm shutdown).
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signum)


def _wait_or_kill(proc: subprocess.Popen[bytes], timeout: float) -> None:
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        _signal(proc, signal.SIGKILL)
        proc.wait()


def main() -> int:
    try:
        port = env_int("PORT", 8000, minimum=1)
        concurrency = env_int("IMAGESTUDIO_WORKER_CONCURRENCY", 128, minimum=1)
        grace = float(env_int("IMAGESTUDIO_SHUTDOWN_GRACE_SECONDS", 30, minimum=0))
        # Read every setting once here, so a bad value stops us with one line before
        # any process starts.
        import imagestudio.gunicorn_conf  # noqa: F401
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

    _manage("prepare", "--url", f"http://127.0.0.1:{port}/accounts/login/", env=env)

    supervisor = Supervisor(env)

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        supervisor.stopping = True

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    try:
        if not env_str("IMAGESTUDIO_API_KEY"):
            # A fixed port, so a restarted simulator is where the worker looks for it.
            sim_port = env_int("IMAGESTUDIO_SIMULATOR_PORT", 0) or _free_port()
            sim = supervisor.add(
                "simulator",
                [sys.executable, "-m", "imagestudio.simulator", "--port", str(sim_port)]
                + env_str("IMAGESTUDIO_SIMULATOR_ARGS").split(),
            )
            if not supervisor.wait_for_port(sim, sim_port):
                return 0
            env["IMAGESTUDIO_API_BASE_URL"] = f"http://127.0.0.1:{sim_port}/v1"
            env["IMAGESTUDIO_API_KEY"] = "simulated"
            env["IMAGESTUDIO_SIMULATED"] = "1"

        supervisor.add(
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
                # One worker on one machine: nobody to mingle or gossip with, and mingling
                # waits for replies that never come before the worker takes a job.
                "--without-mingle",
                "--without-gossip",
                "--hostname",
                f"worker-{os.getpid()}@%h",
            ],
        )
        supervisor.add(
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
        web = supervisor.add(
            "web",
            [
                sys.executable,
                "-m",
                "gunicorn",
                # Workers and threads from the cores (IMAGESTUDIO_WEB_WORKERS/_THREADS).
                "--config",
                "python:imagestudio.gunicorn_conf",
                "imagestudio.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
            ],
        )
        if not supervisor.wait_for_port(web, port):
            return 0
        mode = (
            "SIMULATED gateway (placeholder images, nothing billed)"
            if env.get("IMAGESTUDIO_SIMULATED") == "1"
            else env.get("IMAGESTUDIO_API_BASE_URL", "the gateway")
        )
        print(
            f"\nImageStudio is up: http://127.0.0.1:{port}/  — upstream: {mode}. Ctrl+C stops.\n",
            flush=True,
        )
        while not supervisor.stopping:
            supervisor.check()
            time.sleep(0.2)
        print("stopping: the web, then the worker (its calls finish), then the rest", flush=True)
        return 0
    finally:
        supervisor.stop(grace)


if __name__ == "__main__":
    sys.exit(main())
