"""(b) From the gateway's answer to `succeeded`, per image, at 1K, 2K and 4K.

In one Django process (fresh data dir, simulator at latency 0) the real job code runs:
`tasks._run(generation)` with the real client. The client's HTTP POST is wrapped to note
when the gateway's answer has fully arrived; the clock stops when `_run` returns, i.e.
after the answer is parsed (b64 decoded, or the result link downloaded from the
simulator), the bytes validated by Pillow, the original and the WebP thumbnail written to
storage and the `finish_succeeded` transaction committed. Both response formats, plus a
photo-like PNG fed through an in-memory transport (the simulator's gradients compress far
better than a real image); one warm-up call per size and format is not counted. One image
at a time on an otherwise idle process: with 32 worker threads finishing together, each
takes longer (see a).
"""

from __future__ import annotations

import base64
import io
import time

import httpx

from bench.harness import (
    BenchError,
    Config,
    DataDir,
    Outcome,
    Row,
    ms,
    start_simulator,
    stop,
)

TITLE = "gateway answer → succeeded, per image"
MODEL = "gpt-image-2-vip"
# 16:9 at each tier: 3840x2160 is the largest image the catalog has.
SIZES = {"1K": "1280x720", "2K": "2048x1152", "4K": "3840x2160"}
FORMATS = ("url", "b64_json")
PHOTO_URL = "photo-like url"
PHOTO = "photo-like b64_json"
AIM_4K_S = 0.3


def run(config: Config) -> Outcome:
    reps = 5 if config.quick else 20
    outcome = Outcome()
    with DataDir(config, "b") as data:
        sim, base = start_simulator(0.0, data.logs)
        try:
            data.use_simulator(base)
            data.migrate()
            result = data.child(
                "pipeline",
                "measure",
                timeout=600,
                reps=reps,
                sizes=SIZES,
                formats=list(FORMATS),
            )
        finally:
            stop(sim)
    outcome.notes.append(
        f"{MODEL}, {reps} images per size and format after 1 warm-up; median / p95 of "
        "(`tasks._run` returns) − (HTTP answer received); simulator latency 0, local files. "
        "Parts: answer = JSON parse + b64 decode or result-link download; store = Pillow "
        "verify + decode, original + WebP thumbnail written; finish = the succeeded "
        "transaction (row update + ledger row)"
    )
    outcome.notes.append(
        "photo-like: the simulator's placeholders are gradients that compress to a few "
        "hundred KB even at 4K; these rows feed the same client and job code a photo-like PNG "
        "(gradient + noise) through an in-memory httpx transport, answer and result link "
        "alike (so the url rows leave out the network transfer of the download)"
    )
    for fmt in (*FORMATS, PHOTO_URL, PHOTO):
        for tier, size in SIZES.items():
            stats = result[fmt][tier]
            is_4k = tier == "4K"
            outcome.rows.append(
                Row(
                    f"b. answer → succeeded, {tier} {size}, {fmt}",
                    f"median {ms(stats['total']['median'])}, p95 {ms(stats['total']['p95'])}",
                    f"≤ {AIM_4K_S * 1000:.0f} ms (p95)" if is_4k else "—",
                    stats["total"]["p95"] <= AIM_4K_S if is_4k else None,
                )
            )
            parts = ", ".join(
                f"{name} {ms(stats[name]['median'])}" for name in ("answer", "store", "finish")
            )
            outcome.notes.append(f"{fmt} {tier}: {stats['bytes'] / 1e6:.2f} MB PNG; {parts}")
            if fmt == "url" and stats["answer"]["median"] > 0.03:
                outcome.notes.append(
                    f"url {tier}: the ~40 ms download is the simulator's, not the studio's: "
                    "http.server writes headers and body separately on a socket without "
                    "TCP_NODELAY, so a reused keep-alive connection waits on Nagle + delayed "
                    "ACK (seen with plain httpx too, only for this body size)"
                )
    return outcome


# --- in the Django child ----------------------------------------------------------------------
def child_measure(reps: int, sizes: dict[str, str], formats: list[str]) -> dict:
    from imagestudio.studio import imaging
    from imagestudio.studio.models import Generation
    from imagestudio.upstream.client import GatewayClient

    marks: dict[str, float] = {}
    real_store, real_finish = imaging.store, Generation.finish_succeeded

    def timed_store(data: bytes) -> dict:
        marks["store_start"] = time.perf_counter()
        marks["bytes"] = len(data)
        stored = real_store(data)
        marks["store_end"] = time.perf_counter()
        return stored

    def timed_finish(self, *args, **kwargs):
        marks["finish_start"] = time.perf_counter()
        return real_finish(self, *args, **kwargs)

    imaging.store = timed_store
    Generation.finish_succeeded = timed_finish
    results: dict = {}
    try:
        for fmt in formats:
            with GatewayClient.from_settings(response_format=fmt, max_attempts=1) as client:
                results[fmt] = _time_jobs(client, sizes, reps, marks, fmt)
        # The simulator's placeholders are gradients that compress to almost nothing; a real
        # 4K answer is a photo-like PNG of many MB. Same client and job code, the answer
        # (and, for url, the result link) served from memory.
        for tier, size in sizes.items():
            png = _photo_like_png(*(int(n) for n in size.split("x")))
            for label, fmt in ((PHOTO_URL, "url"), (PHOTO, "b64_json")):
                transport = httpx.MockTransport(
                    lambda request, png=png, fmt=fmt: _photo_answer(request, png, fmt)
                )
                with GatewayClient.from_settings(
                    response_format=fmt, max_attempts=1, transport=transport
                ) as client:
                    results.setdefault(label, {}).update(
                        _time_jobs(client, {tier: size}, reps, marks, label)
                    )
    finally:
        imaging.store, Generation.finish_succeeded = real_store, real_finish
    return results


def _time_jobs(client, sizes: dict[str, str], reps: int, marks: dict, label: str) -> dict:
    from django.contrib.auth import get_user_model

    from bench.harness import median, percentile
    from imagestudio import catalog
    from imagestudio.studio import tasks
    from imagestudio.studio.models import Batch, Generation, Status

    user, _ = get_user_model().objects.get_or_create(username="bench")
    # The answer is in once the client has read the POST's body (it streams it, capped).
    real_read = client._read_answer

    def timed_read(*args, **kwargs):
        body = real_read(*args, **kwargs)
        marks["answer"] = time.perf_counter()
        return body

    client._read_answer = timed_read
    saved_get_client = tasks.get_client
    tasks.get_client = lambda: client
    results: dict = {}
    try:
        for tier, size in sizes.items():
            samples: dict[str, list[float]] = {"total": [], "answer": [], "store": [], "finish": []}
            for rep in range(reps + 1):
                generation = Generation.objects.create(
                    user=user,
                    batch=Batch.objects.create(user=user),
                    model=MODEL,
                    prompt=f"bench pipeline {label} {tier} {rep}: a harbour at night",
                    size=size,
                    size_tier=catalog.size_tier(MODEL, size),
                )
                if not Generation.claim(generation.pk):
                    raise BenchError("could not claim the row")
                generation.refresh_from_db()
                marks.clear()
                outcome = tasks._run(generation)
                end = time.perf_counter()
                row = Generation.objects.get(pk=generation.pk)
                if outcome != "succeeded" or row.status != Status.SUCCEEDED:
                    raise BenchError(
                        f"{label} {size}: the job ended {outcome} / {row.status} "
                        f"({row.error_code}: {row.error_message[:200]})"
                    )
                if f"{row.width}x{row.height}" != size:
                    raise BenchError(f"{size} came back as {row.width}x{row.height}")
                if rep == 0:
                    continue  # warm-up: imports, codec set-up, first connection
                samples["total"].append(end - marks["answer"])
                samples["answer"].append(marks["store_start"] - marks["answer"])
                samples["store"].append(marks["store_end"] - marks["store_start"])
                samples["finish"].append(end - marks["finish_start"])
            results[tier] = {
                name: {"median": median(values), "p95": percentile(values, 95)}
                for name, values in samples.items()
            }
            results[tier]["bytes"] = marks["bytes"]
    finally:
        tasks.get_client = saved_get_client
    return results


def _photo_like_png(width: int, height: int) -> bytes:
    """A gradient with per-channel noise: PNG-compresses about like a detailed photo."""
    from PIL import Image, ImageChops

    base = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    noise = Image.merge("RGB", [Image.effect_noise((width, height), 6) for _ in range(3)])
    buffer = io.BytesIO()
    ImageChops.add(base, noise, scale=1.0, offset=-128).save(buffer, "PNG")
    return buffer.getvalue()


def _photo_answer(request: httpx.Request, png: bytes, fmt: str) -> httpx.Response:
    headers = {"x-request-id": "bench-photo-like"}
    if request.method == "GET":  # the result link
        return httpx.Response(200, content=png, headers={**headers, "content-type": "image/png"})
    if fmt == "url":
        item = {"url": str(request.url.join("/files/bench-photo-like.png"))}
    else:
        item = {"b64_json": "data:image/png;base64," + base64.b64encode(png).decode()}
    body = {
        "created": int(time.time()),
        "data": [item],
        "usage": {"input_tokens": 10, "output_tokens": 1000, "total_tokens": 1010},
    }
    return httpx.Response(200, json=body, headers=headers)
