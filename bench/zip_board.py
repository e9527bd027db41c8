"""(h) A board's ZIP: 200 4K PNGs (about 2.4 GB) streamed by the web process.

A Django child fills the data dir: one user with an API token, a board of 20 and a board of
200 succeeded images, each a distinct 3840×2160 PNG file on the local storage (one noisy
picture, about 12 MB, written once and copied, so each file is read from disk on its own).
gunicorn is started as the launcher starts it, but with one worker (gthread) so the process
whose memory is judged is the one that streams. After a warm-up download of the small
board, `GET /api/v1/boards/{id}/download` is read to the end with httpx for each board:
time to first byte, wall time and throughput, and the worker's peak RSS over the request
(sampled every 50 ms) minus its RSS just before. The archive's last bytes are checked for
the ZIP end record and its size against the files' total; the small board's archive is
opened with zipfile and its manifest counted.
"""

from __future__ import annotations

import io
import time
import zipfile
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
    ms,
    proc_status_kib,
    spawn,
    stop,
    wait_for_http,
)

TITLE = "ZIP of a 200-image board of 4K PNGs"
AIM_TTFB_S = 0.5
AIM_RSS_MIB = 64
SMALL = 20
THREADS = 4


def run(config: Config) -> Outcome:
    large = 40 if config.quick else 200
    outcome = Outcome()
    with DataDir(config, "h") as data:
        data.migrate()
        made = data.child("zip_board", "prepare", timeout=1800, sizes=[SMALL, large])
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
                str(THREADS),
                "--timeout",
                "600",
            ],
            data.env(),
            log,
        )
        try:
            wait_for_http(f"{base}/accounts/login/", web, log, timeout=60)
            worker = _worker_pid(web.pid)
            headers = {"Authorization": f"Bearer {made['token']}"}
            boards = made["boards"]
            _check_small(base, headers, boards[str(SMALL)])
            results = {n: _download(base, headers, boards[str(n)], worker) for n in (SMALL, large)}
        finally:
            stop(web)
    big = results[large]
    small = results[SMALL]
    outcome.rows.append(
        Row(
            f"h. board ZIP time to first byte, {large} 4K PNGs",
            ms(big["ttfb"]),
            f"≤ {AIM_TTFB_S * 1000:.0f} ms",
            big["ttfb"] <= AIM_TTFB_S,
        )
    )
    outcome.rows.append(
        Row(
            f"h. board ZIP throughput, {large} 4K PNGs",
            f"{big['bytes'] / big['wall'] / 2**20:,.0f} MiB/s "
            f"({big['bytes'] / 2**30:.2f} GiB in {big['wall']:.1f} s)",
        )
    )
    flat = big["growth_kib"] <= small["growth_kib"] + 8 * 1024
    outcome.rows.append(
        Row(
            "h. board ZIP web process peak RSS growth",
            f"{big['growth_kib'] / 1024:.1f} MiB at {large} images; "
            f"{small['growth_kib'] / 1024:.1f} MiB at {SMALL}",
            f"≤ {AIM_RSS_MIB} MB, flat in the number of images",
            big["growth_kib"] <= AIM_RSS_MIB * 1024 and flat,
        )
    )
    for n, result in results.items():
        outcome.notes.append(
            f"{n} images: {result['bytes']:,} bytes ({result['files_bytes']:,} in the files), "
            f"ttfb {ms(result['ttfb'])}, wall {result['wall']:.2f} s, worker RSS "
            f"{mib(result['before_kib'])} before, peak {mib(result['peak_kib'])}"
        )
    outcome.notes.append(
        f"one gunicorn gthread worker ({THREADS} threads); files {made['file_bytes']:,} bytes "
        f"each, {made['prepare_s']:.0f} s to prepare; the client reads with httpx in 1 MiB "
        "chunks on the same machine (2 cores shared with the server)"
    )
    return outcome


def _worker_pid(master: int) -> int:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        except OSError:
            children = []
        if children:
            return int(children[0])
        time.sleep(0.1)
    raise BenchError("gunicorn started no worker")


def _check_small(base: str, headers: dict, board: dict) -> None:
    """A warm-up that also proves the archive is a ZIP with one manifest row per image."""
    response = httpx.get(
        f"{base}/api/v1/boards/{board['id']}/download", headers=headers, timeout=600
    )
    response.raise_for_status()
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    names = archive.namelist()
    manifest = archive.read("manifest.csv").decode("utf-8-sig").splitlines()
    if len(names) != board["count"] + 1 or len(manifest) != board["count"] + 1:
        raise BenchError(f"the small board's ZIP holds {len(names)} entries")
    if archive.testzip() is not None:
        raise BenchError("the small board's ZIP is corrupt")


def _download(base: str, headers: dict, board: dict, worker: int) -> dict:
    before = proc_status_kib(worker).get("VmRSS", 0)
    url = f"{base}/api/v1/boards/{board['id']}/download"
    total, tail = 0, b""
    with RssSampler(worker, interval=0.05) as sampler:
        start = time.perf_counter()
        with httpx.stream("GET", url, headers=headers, timeout=600) as response:
            response.raise_for_status()
            ttfb = 0.0
            for chunk in response.iter_raw(2**20):
                if not ttfb:
                    ttfb = time.perf_counter() - start
                total += len(chunk)
                tail = (tail + chunk)[-64:]
        wall = time.perf_counter() - start
    if b"PK\x05\x06" not in tail and b"PK\x06\x06" not in tail:
        raise BenchError("the archive does not end with a ZIP end record")
    if total < board["files_bytes"]:
        raise BenchError(f"the archive ({total:,} bytes) is smaller than its files")
    peak = max(sampler.peak_kib, before)
    return {
        "ttfb": ttfb,
        "wall": wall,
        "bytes": total,
        "files_bytes": board["files_bytes"],
        "before_kib": before,
        "peak_kib": peak,
        "growth_kib": peak - before,
    }


# --- in the Django child ----------------------------------------------------------------------
def child_prepare(sizes: list[int]) -> dict:
    import os
    import shutil

    from django.contrib.auth import get_user_model
    from django.core.files.storage import default_storage
    from PIL import Image

    from imagestudio import catalog
    from imagestudio.api.models import ApiToken
    from imagestudio.campaigns.models import Board, BoardItem
    from imagestudio.studio.models import Batch, Generation, Status

    started = time.perf_counter()
    user = get_user_model().objects.create_user("marketer", "m@example.com", None)
    _token, raw = ApiToken.issue(user, "bench")
    # Noise in the low 4 bits: PNG cannot shrink it much, like a detailed photo.
    width, height = 3840, 2160
    noise = os.urandom(width * height * 3).translate(bytes(i & 0x0F for i in range(256)))
    picture = Image.frombytes("RGB", (width, height), noise)
    first = default_storage.save("images/bench/source.png", io.BytesIO(b""))
    source = Path(default_storage.path(first))
    picture.save(source, "PNG", compress_level=1)
    file_bytes = source.stat().st_size
    size = "3840x2160" if catalog.valid_size(catalog.VIP, "3840x2160") else ""
    boards = {}
    count = 0
    for n in sizes:
        batch = Batch.objects.create(user=user)
        rows = []
        for i in range(n):
            count += 1
            name = f"images/bench/{count:04d}.png"
            shutil.copyfile(source, default_storage.path(name))
            rows.append(
                Generation(
                    user=user,
                    batch=batch,
                    model=catalog.VIP,
                    size=size or catalog.DEFAULT_VIP_SIZE,
                    size_tier="4k",
                    prompt=f"Summer sale poster {i}, 夏季促销海报 {i}, bold typography",
                    status=Status.SUCCEEDED,
                    image=name,
                    thumbnail="thumbs/t.webp",
                    width=width,
                    height=height,
                    bytes=file_bytes,
                    variables={"product": f"product {i}", "slogan": f"slogan {i}"},
                )
            )
        made = Generation.objects.bulk_create(rows)
        board = Board.objects.create(name=f"Summer sale {n}", created_by=user)
        BoardItem.objects.bulk_create(BoardItem(board=board, generation=g) for g in made)
        boards[str(n)] = {"id": board.pk, "count": n, "files_bytes": n * file_bytes}
    return {
        "token": raw,
        "boards": boards,
        "file_bytes": file_bytes,
        "prepare_s": time.perf_counter() - started,
    }
