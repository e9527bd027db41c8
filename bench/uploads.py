"""(u) Memory of a web process under 8 parallel edits of 4 large pictures each.

gunicorn as the launcher starts it but with one gthread worker of 8 threads, so all 8
requests land in the one process measured. Each request is `POST /api/v1/edits` (bearer
token) with 4 pictures; the worker's VmRSS is sampled every 50 ms from before the burst
until every answer is in, and once more 2 s later. Two bursts:

- the review's picture: a 7000×7000 PNG of ~200 KB (49 megapixels; refused from its
  header, before a pixel is decoded);
- the largest accepted: a 4096×4096 PNG (decoded in full, 16 MP) and a 7000×7000 JPEG
  (decoded at 1/4 scale), two of each.

Idle is the worker's VmRSS after one warm-up edit with a small picture.
"""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path

import httpx

from bench.harness import (
    PYTHON,
    BenchError,
    Config,
    DataDir,
    Outcome,
    Row,
    RssSampler,
    free_port,
    mib,
    proc_status_kib,
    spawn,
    stop,
    tail,
    wait_for_http,
)

TITLE = "upload memory: 8 parallel edits × 4 large pictures"
PARALLEL = 8
PICTURES = 4
AIM_MIB = 300


def child_setup() -> dict:
    from django.contrib.auth import get_user_model

    from imagestudio.api.models import ApiToken

    user = get_user_model().objects.create_user("bench-uploads", password="bench-Uploads-77")
    _, raw = ApiToken.issue(user, "bench")
    return {"token": raw}


def _png(size: tuple[int, int]) -> bytes:
    from PIL import Image

    image = Image.linear_gradient("L").resize(size).convert("RGB")
    out = io.BytesIO()
    image.save(out, "PNG", optimize=False, compress_level=9)
    return out.getvalue()


def _jpeg(size: tuple[int, int]) -> bytes:
    from PIL import Image

    image = Image.radial_gradient("L").resize(size).convert("RGB")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=70)
    return out.getvalue()


def _worker_pid(master: int, timeout: float = 30.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.1)
    raise BenchError("gunicorn started no worker")


def _edit(base: str, token: str, files: list[tuple[str, bytes]], out: list, i: int) -> None:
    parts = [
        (f"image{n + 1}", (name, data, "application/octet-stream"))
        for n, (name, data) in enumerate(files)
    ]
    response = httpx.post(
        f"{base}/api/v1/edits",
        headers={"Authorization": f"Bearer {token}"},
        data={"prompt": "make it warmer", "model": "gpt-image-2-all"},
        files=parts,
        timeout=300,
    )
    out[i] = response.status_code


def _burst(base: str, token: str, files: list[tuple[str, bytes]], pid: int) -> dict:
    statuses: list = [None] * PARALLEL
    started = time.perf_counter()
    with RssSampler(pid, interval=0.05) as sampler:
        threads = [
            threading.Thread(target=_edit, args=(base, token, files, statuses, i))
            for i in range(PARALLEL)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    elapsed = time.perf_counter() - started
    time.sleep(2)
    return {
        "peak": sampler.peak_kib,
        "after": proc_status_kib(pid).get("VmRSS", 0),
        "statuses": statuses,
        "seconds": elapsed,
    }


def run(config: Config) -> Outcome:
    outcome = Outcome()
    with DataDir(config, "u") as data:
        data.migrate()
        token = data.child("uploads", "setup", timeout=120)["token"]
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log = data.logs / "gunicorn.log"
        web = spawn(
            [
                PYTHON,
                "-m",
                "gunicorn",
                "imagestudio.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--worker-class",
                "gthread",
                "--workers",
                "1",
                "--threads",
                str(PARALLEL),
                "--timeout",
                "300",
            ],
            data.env(),
            log,
        )
        try:
            wait_for_http(f"{base}/api/v1/openapi.json", web, log, timeout=60)
            pid = _worker_pid(web.pid)
            statuses: list = [None]
            _edit(base, token, [("warm.png", _png((256, 256)))], statuses, 0)
            if statuses[0] != 202:
                raise BenchError(f"the warm-up edit answered {statuses[0]} ({tail(log, 4)})")
            time.sleep(1)
            idle = proc_status_kib(pid).get("VmRSS", 0)
            bursts = {
                "7000×7000 PNG (refused from its header)": [("bomb.png", _png((7000, 7000)))]
                * PICTURES,
                "4096×4096 PNG ×2 + 7000×7000 JPEG ×2 (accepted)": [
                    ("big1.png", _png((4096, 4096))),
                    ("big1.jpg", _jpeg((7000, 7000))),
                    ("big2.png", _png((4096, 4095))),
                    ("big2.jpg", _jpeg((7000, 6999))),
                ],
            }
            for label, files in bursts.items():
                result = _burst(base, token, files, pid)
                above = result["peak"] - idle
                sizes = ", ".join(f"{len(d) / 1e3:,.0f} KB" for _, d in files)
                outcome.rows.append(
                    Row(
                        f"u. web worker peak RSS above idle, {PARALLEL} parallel edits × "
                        f"{PICTURES}: {label}",
                        f"{mib(above)} (idle {mib(idle)}, peak {mib(result['peak'])}, "
                        f"2 s after {mib(result['after'])}); answers "
                        f"{sorted(set(map(str, result['statuses'])))} in {result['seconds']:.1f} s",
                        f"< {AIM_MIB} MiB",
                        above < AIM_MIB * 1024,
                    )
                )
                outcome.notes.append(f"{label}: files {sizes}")
            if web.poll() is not None:
                raise BenchError(f"gunicorn exited with {web.returncode} ({tail(log, 4)})")
        finally:
            stop(web)
    outcome.notes.append(
        "gunicorn: 1 gthread worker × 8 threads (all 8 requests in the one process "
        "measured); VmRSS sampled every 50 ms; the pictures are decoded two at a time per "
        "process (IMAGESTUDIO_DECODE_SLOTS) and at most 16 MP a frame"
    )
    return outcome
