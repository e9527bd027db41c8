"""(s) The simulated gateway's own pace: the speed targets its tests used to time.

tests/test_simulator.py asserts what the simulator does (sizes, overlap by its in-flight
counter, pacing by the seconds it records holding each call); how fast it does it is
measured here, where a loaded machine is noted beside the figure instead of failing a
test. Three simulators on free ports, one after another: latency 0 (a 4K PNG with a
1,000-character prompt, the median of 3 calls after a warm-up), latency 1 s (10 calls at
once: the wall time), and `--route-latency gpt-image-2-all:0.6` (one call per route).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from bench.harness import Config, Outcome, Row, median, ms, start_simulator, stop

TITLE = "the simulator's own pace (4K drawing, parallel calls, a route's latency)"
VIP, ALL = "gpt-image-2-vip", "gpt-image-2-all"
AIM_4K_S = 1.5
PARALLEL = 10
PARALLEL_AIM_S = (1.0, 3.0)
ROUTE_LATENCY_S = 0.6
AUTH = {"Authorization": "Bearer sk-bench"}


def _call(base: str, model: str, prompt: str, size: str | None = None) -> float:
    body = {"model": model, "prompt": prompt, "response_format": "b64_json"}
    if size:
        body["size"] = size
    started = time.perf_counter()
    answer = httpx.post(f"{base}/images/generations", json=body, headers=AUTH, timeout=60)
    took = time.perf_counter() - started
    answer.raise_for_status()
    return took


def run(config: Config) -> Outcome:
    logs = Path(tempfile.mkdtemp(prefix="imagestudio-bench-s-"))
    try:
        return _measure(logs)
    finally:
        if not config.keep:
            shutil.rmtree(logs, ignore_errors=True)


def _measure(logs: Path) -> Outcome:
    outcome = Outcome()

    proc, base = start_simulator(0, logs)
    try:
        _call(base, VIP, "warm-up", "3840x2160")
        samples = [_call(base, VIP, f"{i} " + "x " * 500, "3840x2160") for i in range(3)]
    finally:
        stop(proc)
    outcome.rows.append(
        Row(
            "s. a 4K PNG (3840×2160, 1,000-character prompt), latency 0",
            f"median {ms(median(samples))} ({ms(min(samples))}–{ms(max(samples))})",
            f"< {AIM_4K_S:g} s",
            median(samples) < AIM_4K_S,
        )
    )

    proc, base = start_simulator(1, logs)
    try:
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
            list(pool.map(lambda i: _call(base, VIP, f"parallel {i}", "1280x720"), range(10)))
        wall = time.perf_counter() - started
    finally:
        stop(proc)
    low, high = PARALLEL_AIM_S
    outcome.rows.append(
        Row(
            f"s. {PARALLEL} calls at once, latency 1 s each",
            f"{wall:.2f} s in all",
            f"{low:g}–{high:g} s",
            low <= wall < high,
        )
    )

    proc, base = start_simulator(0, logs, "--route-latency", f"{ALL}:{ROUTE_LATENCY_S:g}")
    try:
        paced = _call(base, ALL, "a kite")
        other = _call(base, VIP, "a kite", "1280x720")
    finally:
        stop(proc)
    outcome.rows.append(
        Row(
            f"s. --route-latency {ALL}:{ROUTE_LATENCY_S:g}: that route, then -vip",
            f"{ms(paced)}, then {ms(other)}",
            f"≥ {ROUTE_LATENCY_S * 1000:.0f} ms, then < 500 ms",
            paced >= ROUTE_LATENCY_S and other < 0.5,
        )
    )
    outcome.notes.append(
        "each call over HTTP from this process (httpx, b64_json); the simulator alone, "
        "no studio. The aims are the ones the timed tests had."
    )
    return outcome
