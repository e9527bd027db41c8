"""What every benchmark needs: data dirs, child processes, the simulator, timeouts, numbers.

Nothing here imports Django. Every process started goes into its own session (process
group) and into a registry, so `stop_all()` can end it and its children whatever happened:
an exception, a timeout, Ctrl+C or SIGTERM.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import math
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
# Variables a developer's shell may carry that would point a benchmark somewhere else.
_SCRUBBED_PREFIXES = ("IMAGESTUDIO_", "DJANGO_")
_SCRUBBED_NAMES = {"DATABASE_URL", "CELERY_BROKER_URL", "PORT"}


class BenchError(Exception):
    """A benchmark could not run; the message says why, in one line."""


@dataclass(frozen=True)
class Config:
    quick: bool = False
    keep: bool = False


@dataclass
class Row:
    benchmark: str
    measured: str
    aim: str = "—"
    # True/False against the aim; None when the row is information only.
    ok: bool | None = None
    could_not_run: bool = False

    @property
    def verdict(self) -> str:
        if self.could_not_run:
            return "not run"
        if self.ok is None:
            return "—"
        return "yes" if self.ok else "**no**"


@dataclass
class Outcome:
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# --- processes --------------------------------------------------------------------------------
_PR_SET_PDEATHSIG = 1
_live: list[subprocess.Popen] = []
_live_lock = threading.Lock()


def spawn(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """Start a process in its own session, output to `log`, registered for stop_all()."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
    with _live_lock:
        _live.append(proc)
    return proc


def _die_with_parent() -> None:
    """In the child, before exec: SIGKILL it if the bench itself is killed outright (no
    `finally` runs then). Linux only; elsewhere the registry is all there is."""
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def stop(proc: subprocess.Popen, grace: float = 10.0) -> None:
    """SIGTERM to the process group, SIGKILL if it is still there after `grace` seconds."""
    try:
        if proc.poll() is None:
            _signal_group(proc, signal.SIGTERM)
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                proc.wait(5)
        # Children the leader left behind (it exited, they did not).
        _signal_group(proc, signal.SIGKILL)
    finally:
        with _live_lock:
            if proc in _live:
                _live.remove(proc)


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def stop_all() -> None:
    with _live_lock:
        procs = list(_live)
    for proc in reversed(procs):
        stop(proc, grace=5.0)


def install_signal_handlers() -> None:
    """SIGTERM/SIGHUP become KeyboardInterrupt, so every `finally` runs and stops children."""

    def interrupt(signum, frame) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupt)


def tail(path: Path, lines: int = 8) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_http(url: str, proc: subprocess.Popen, log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"{url} never answered: its process exited ({tail(log, 3)})")
        try:
            httpx.get(url, timeout=2.0)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise BenchError(f"{url} did not answer within {timeout:.0f} s ({tail(log, 3)})")


def wait_for_log(log: Path, needle: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if needle in log.read_text(errors="replace"):
                return
        except OSError:
            pass
        if proc.poll() is not None:
            raise BenchError(f"process exited with {proc.returncode} ({tail(log, 4)})")
        time.sleep(0.1)
    raise BenchError(f"{needle.strip()!r} not seen within {timeout:.0f} s ({tail(log, 4)})")


# --- memory -----------------------------------------------------------------------------------
def proc_status_kib(pid: int) -> dict[str, int]:
    """VmRSS, VmHWM (peak RSS) and friends from /proc/<pid>/status, in KiB."""
    values: dict[str, int] = {}
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return values
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        parts = rest.split()
        if name.startswith("Vm") and len(parts) == 2 and parts[1] == "kB":
            values[name] = int(parts[0])
    return values


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU seconds of the live processes in one process group (e.g. gunicorn's
    master and workers), from /proc/<pid>/stat."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        # After the command: state ppid pgrp session tty tpgid flags minflt cminflt majflt
        # cmajflt utime stime …
        if int(fields[2]) == pgid:
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process, all its threads (the worker, with its
    thread pool, and the simulator are one process each)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuSampler:
    """CPU seconds used so far by a few named processes (the worker, the simulator), noted
    every SAMPLE_S seconds (Unix time) while a run goes on: small reads, not a scan of
    /proc. With `read=group_cpu_seconds` the ids are process groups (gunicorn's master
    and workers), each read a scan of /proc: sample those less often."""

    SAMPLE_S = 0.1

    def __init__(
        self, read: Callable[[int], float] | None = None, every: float = SAMPLE_S, **pids: int
    ) -> None:
        self._pids = pids
        self._read = read or process_cpu_seconds
        self._every = every
        self._samples: list[tuple[float, dict[str, float]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cpu-sampler", daemon=True)

    def start(self) -> CpuSampler:
        self._sample()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._sample()

    def __enter__(self) -> CpuSampler:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _sample(self) -> None:
        used = {name: self._read(pid) for name, pid in self._pids.items()}
        self._samples.append((time.time(), used))

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            self._sample()

    def _at(self, moment: float) -> dict[str, float]:
        # The last sample at or before `moment` (the first, for a moment before it).
        before = [used for at, used in self._samples if at <= moment]
        return before[-1] if before else self._samples[0][1]

    def used(self, start: float, end: float) -> dict[str, float]:
        """Roughly (to a sample) the CPU each used between two Unix times."""
        first, last = self._at(start), self._at(end)
        return {name: last[name] - first[name] for name in self._pids}


class RssSampler:
    """Samples VmRSS of one process every `interval` seconds in a side thread."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self.pid = pid
        self.interval = interval
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.is_set():
            rss = proc_status_kib(self.pid).get("VmRSS")
            if rss is not None:
                self.samples.append(rss)
            self._stop.wait(self.interval)

    @property
    def peak_kib(self) -> int:
        return max(self.samples, default=0)


# --- data dirs and Django children ------------------------------------------------------------
def base_env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(_SCRUBBED_PREFIXES) and k not in _SCRUBBED_NAMES
    }
    env["PYTHONUNBUFFERED"] = "1"
    env["DJANGO_SETTINGS_MODULE"] = "imagestudio.settings"
    return env


class DataDir:
    """A fresh IMAGESTUDIO_DATA_DIR: SQLite database, filesystem broker, media, logs."""

    def __init__(self, config: Config, label: str) -> None:
        self.config = config
        self.path = Path(tempfile.mkdtemp(prefix=f"imagestudio-bench-{label}-"))
        self.logs = self.path / "logs"
        self.logs.mkdir()
        self.extra: dict[str, str] = {}
        self._children = 0

    def __enter__(self) -> DataDir:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.config.keep:
            print(f"[bench] kept {self.path}", file=sys.stderr)
        else:
            shutil.rmtree(self.path, ignore_errors=True)

    def use_simulator(self, base_url: str) -> None:
        self.extra.update(
            IMAGESTUDIO_API_BASE_URL=base_url,
            IMAGESTUDIO_API_KEY="simulated",
            IMAGESTUDIO_SIMULATED="1",
        )

    def env(self, **extra: str) -> dict[str, str]:
        return {**base_env(), "IMAGESTUDIO_DATA_DIR": str(self.path), **self.extra, **extra}

    def manage(self, *args: str, timeout: float = 180.0) -> None:
        log = self.logs / f"manage-{args[0]}.log"
        proc = spawn([PYTHON, "manage.py", *args], self.env(), log)
        _wait_child(proc, log, timeout, f"manage.py {' '.join(args)}")

    def migrate(self) -> None:
        self.manage("migrate", "--noinput", "-v0")

    def collectstatic(self) -> None:
        self.manage("collectstatic", "--noinput", "-v0")

    def child(self, module: str, function: str, timeout: float, **kwargs) -> dict:
        """Run bench.<module>.child_<function>(**kwargs) in a Django process for this dir."""
        self._children += 1
        stem = f"child-{self._children}-{module}-{function}"
        args_path, out_path = self.path / f"{stem}.in.json", self.path / f"{stem}.out.json"
        args_path.write_text(json.dumps(kwargs))
        log = self.logs / f"{stem}.log"
        proc = spawn(
            [PYTHON, "-m", "bench.child", module, function, str(args_path), str(out_path)],
            self.env(),
            log,
        )
        _wait_child(proc, log, timeout, f"{module}.{function}")
        try:
            result = json.loads(out_path.read_text())
        except (OSError, ValueError) as exc:
            raise BenchError(f"{module}.{function} wrote no result ({exc}; {tail(log)})") from None
        if isinstance(result, dict) and result.get("error"):
            raise BenchError(f"{module}.{function}: {result['error']}")
        return result


def _wait_child(proc: subprocess.Popen, log: Path, timeout: float, what: str) -> None:
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        stop(proc, grace=3.0)
        raise BenchError(f"{what} timed out after {timeout:.0f} s ({tail(log, 4)})") from None
    stop(proc)  # unregisters it and sweeps anything it left in its group
    if proc.returncode != 0:
        raise BenchError(f"{what} exited with {proc.returncode}: {tail(log, 6)}")


def start_worker(
    data: DataDir, name: str, concurrency: int = 64, **env: str
) -> tuple[subprocess.Popen, Path]:
    """A real Celery worker (threads pool, as the Procfile starts it) for `data`, ready to
    take jobs; returns (process, its log)."""
    log = data.logs / f"worker-{name}.log"
    proc = spawn(
        [PYTHON, "-m", "celery", "-A", "imagestudio", "worker", "--pool", "threads"]
        + ["--concurrency", str(concurrency), "--loglevel", "INFO", "--without-gossip"]
        + ["--without-mingle", "--hostname", f"bench-{name}@%h"],
        data.env(IMAGESTUDIO_WORKER_CONCURRENCY=str(concurrency), **env),
        log,
    )
    wait_for_log(log, " ready.", proc, timeout=60)
    return proc, log


def start_beat(data: DataDir, **env: str) -> tuple[subprocess.Popen, Path]:
    """Celery beat for `data` (it sends the periodic sweep), as the Procfile starts it."""
    log = data.logs / "beat.log"
    proc = spawn(
        [PYTHON, "-m", "celery", "-A", "imagestudio", "beat", "--loglevel", "INFO"]
        + ["--schedule", str(data.path / "celerybeat-schedule")],
        data.env(**env),
        log,
    )
    wait_for_log(log, "beat: Starting", proc, timeout=60)
    return proc, log


def start_cpu_hogs(log_dir: Path, count: int | None = None) -> list[subprocess.Popen]:
    """One busy loop per core (or `count`), at normal priority: a machine whose CPU another
    program has taken. Registered like every child, so stop_all() ends them."""
    return [
        spawn([PYTHON, "-c", "while True: pass"], base_env(), log_dir / f"cpu-hog-{n}.log")
        for n in range(count or os.cpu_count() or 1)
    ]


# --- the simulated gateway --------------------------------------------------------------------
# The simulator stands for a gateway on other machines: its drawing (tens of ms an image,
# all at once when a batch arrives) yields to the studio on the cores they share.
SIMULATOR_NICE = 10


def start_simulator(latency: float, log_dir: Path, *extra: str) -> tuple[subprocess.Popen, str]:
    """The simulator on a free port with a fixed latency (and `extra` flags); returns
    (process, /v1 base)."""
    port = free_port()
    log = log_dir / f"simulator-{port}.log"
    proc = spawn(
        [
            PYTHON,
            "-m",
            "imagestudio.simulator",
            "--port",
            str(port),
            "--latency",
            f"{latency:g}",
            "--seed",
            "1",
            *extra,
        ],
        base_env(),
        log,
    )
    os.setpriority(os.PRIO_PROCESS, proc.pid, SIMULATOR_NICE)
    wait_for_http(f"http://127.0.0.1:{port}/healthz", proc, log)
    return proc, f"http://127.0.0.1:{port}/v1"


# --- numbers ----------------------------------------------------------------------------------
def percentile(values: Iterable[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    rank = max(1, min(len(ordered), math.ceil(p / 100 * len(ordered))))
    return ordered[rank - 1]


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds >= 0.01 else f"{seconds * 1000:.1f} ms"


def mib(kib: int) -> str:
    return f"{kib / 1024:.0f} MiB"
