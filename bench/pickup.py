"""(p) From submit to a free worker taking the job, with the CPU idle and saturated.

Embedded profile (SQLite, filesystem broker) in a fresh data dir: one real Celery worker
(64 threads, so a slot is always free) and beat (the sweep, at its defaults) against the
simulator at a short latency. N single-image submits, paced, through `services.submit`
(the studio's own path: rows committed, then the message sent on commit); per image the
wait is the row's `started_at` (the worker's claim) minus its `created_at` (set in the
submit's transaction, so the wait includes the few ms of that commit). Once with nothing
else started by the bench, once with one busy loop per core running beside it.

Then the lost message: a queued row is written with no message sent (as when the broker
dropped it); the sweep must re-send it, so it is taken within REQUEUE_QUEUED_SECONDS +
SWEEP_SECONDS (30 + 15 s by default). It is written before the two rounds and timed
across them; its `sent_at` moving on proves the sweep sent it, not some other delivery.
"""

from __future__ import annotations

import time
from pathlib import Path

from bench.harness import (
    BenchError,
    Config,
    DataDir,
    Outcome,
    Row,
    median,
    ms,
    percentile,
    start_beat,
    start_cpu_hogs,
    start_simulator,
    start_worker,
    stop,
)

TITLE = "submit → a free worker takes the job (CPU idle / saturated), lost message → sweep"
MODEL = "gpt-image-2-all"
LATENCY = 0.3
AIM_P99_S = 2.0
# REQUEUE_QUEUED_SECONDS + SWEEP_SECONDS at their defaults (imagestudio/settings.py).
SWEEP_BOUND_S = 45.0


def run(config: Config) -> Outcome:
    images = 20 if config.quick else 60
    gap = 0.25
    outcome = Outcome()
    with DataDir(config, "p") as data:
        sim, base = start_simulator(LATENCY, data.logs)
        try:
            data.use_simulator(base)
            data.migrate()
            data.child("batch", "setup", timeout=60)
            worker, worker_log = start_worker(data, "p")
            try:
                beat, _ = start_beat(data)
                try:
                    lost = data.child("pickup", "write_lost", timeout=60)
                    idle = data.child("pickup", "submit_paced", timeout=120, images=images, gap=gap)
                    hogs = start_cpu_hogs(data.logs)
                    try:
                        loaded = data.child(
                            "pickup", "submit_paced", timeout=180, images=images, gap=gap
                        )
                    finally:
                        for hog in hogs:
                            stop(hog, grace=2.0)
                    swept = data.child(
                        "pickup", "wait_taken", timeout=150, pk=lost["pk"], wait_s=90
                    )
                    if beat.poll() is not None or worker.poll() is not None:
                        raise BenchError("the worker or beat exited during the run")
                except BenchError as exc:
                    raise BenchError(f"{exc}{_worker_died(worker_log)}") from None
                finally:
                    stop(beat)
            finally:
                stop(worker)
        finally:
            stop(sim)
    for label, result in (("CPU idle", idle), (f"CPU saturated ({len(hogs)} busy loops)", loaded)):
        waits = result["waits"]
        p99 = percentile(waits, 99)
        outcome.rows.append(
            Row(
                f"p. submit → worker's claim, {len(waits)} single images {gap:g} s apart, "
                f"one worker (64 threads, slots free), {label}",
                f"p50 {ms(median(waits))}, p99 {ms(p99)} (max {ms(max(waits))}); "
                f"{result['succeeded']}/{len(waits)} succeeded",
                f"< {AIM_P99_S:g} s (p99)",
                p99 < AIM_P99_S and result["succeeded"] == len(waits),
            )
        )
    outcome.rows.append(
        Row(
            "p. a queued job whose broker message was lost (none sent): submit → claim",
            f"{swept['wait_s']:.1f} s (re-sent by the sweep {swept['resent_after_s']:.1f} s "
            f"after submit; {swept['status']})",
            f"≤ {SWEEP_BOUND_S:g} s (requeue 30 s + sweep 15 s)",
            swept["wait_s"] <= SWEEP_BOUND_S and swept["swept"],
        )
    )
    outcome.notes.append(
        f"p: simulator latency {LATENCY:g} s, {MODEL}; the claim is the worker's "
        "`Generation.claim` (started_at); the filesystem broker is polled every 0.1 s. The "
        "lost job was written before both rounds and waited through them (the CPU "
        "saturated for part of its wait)"
    )
    for label, result in (("idle", idle), ("saturated", loaded)):
        outcome.notes.append(
            f"p, CPU {label}: submit call median {ms(result['submit_s'])}; the round's last "
            f"image ended {result['wall_s']:.1f} s after its first submit"
        )
    return outcome


def _worker_died(log: Path) -> str:
    """The worker's own last word when it gave up (e.g. a message it could not decode)."""
    for line in log.read_text(errors="replace").splitlines():
        if "Unrecoverable error" in line:
            return f"; the worker stopped: {line.split(']', 1)[-1].strip()}"
    return ""


# --- in the Django child ----------------------------------------------------------------------
def child_write_lost() -> dict:
    """A queued row as a submit leaves it, but with no message at the broker."""
    from django.contrib.auth import get_user_model

    from imagestudio import catalog
    from imagestudio.studio.models import Batch, Generation

    user = get_user_model().objects.get(username="bench")
    generation = Generation.objects.create(
        user=user,
        batch=Batch.objects.create(user=user),
        model=MODEL,
        prompt="bench pickup: the message that never reached the broker",
        size="",
        size_tier=catalog.size_tier(MODEL, ""),
    )
    return {"pk": generation.pk}


def child_submit_paced(images: int, gap: float) -> dict:
    from django.contrib.auth import get_user_model

    from imagestudio.studio import services
    from imagestudio.studio.models import PENDING, Generation, Status

    user = get_user_model().objects.get(username="bench")
    pks, submit_s = [], []
    for number in range(images):
        clock = time.monotonic()
        request = services.validate(
            model=MODEL, prompt=f"bench pickup {number}: a kite over dunes", size="", count=1
        )
        pks.append(services.submit(user, request)[1][0].pk)
        submit_s.append(time.monotonic() - clock)
        time.sleep(max(0.0, gap - (time.monotonic() - clock)))
    mine = Generation.objects.filter(pk__in=pks)
    deadline = time.monotonic() + 60
    while mine.filter(status__in=PENDING).exists():
        if time.monotonic() > deadline:
            raise BenchError("the round's images did not finish within 60 s")
        time.sleep(0.1)
    rows = list(mine.values("status", "created_at", "started_at", "finished_at"))
    started = [r["started_at"] for r in rows]
    finished = [r["finished_at"] for r in rows if r["finished_at"] is not None]
    if None in started or len(finished) < len(rows):
        raise BenchError("an image ended without being claimed or finished")
    first = min(r["created_at"] for r in rows)
    return {
        "waits": [
            (start - r["created_at"]).total_seconds()
            for start, r in zip(started, rows, strict=True)
            if start is not None
        ],
        "succeeded": sum(1 for r in rows if r["status"] == Status.SUCCEEDED),
        "submit_s": median(submit_s),
        "wall_s": (max(finished) - first).total_seconds(),
    }


def child_wait_taken(pk: int, wait_s: float) -> dict:
    from imagestudio.studio.models import Generation, Status

    deadline = time.monotonic() + wait_s
    while True:
        row = Generation.objects.get(pk=pk)
        if row.started_at is not None:
            break
        if time.monotonic() > deadline:
            raise BenchError(f"the lost job was not taken within {wait_s:.0f} s of waiting")
        time.sleep(0.2)
    resent = (row.sent_at - row.created_at).total_seconds()
    deadline = time.monotonic() + 30
    while row.status not in (Status.SUCCEEDED, Status.FAILED, Status.CANCELED):
        if time.monotonic() > deadline:
            break
        time.sleep(0.2)
        row.refresh_from_db()
    return {
        "wait_s": (row.started_at - row.created_at).total_seconds(),
        "resent_after_s": resent,
        # Written with sent_at = created_at and never sent: only take_unsent moves it.
        "swept": resent > 1.0,
        "status": str(row.status),
    }
