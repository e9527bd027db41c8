"""(j) The fair share: a 200-image batch from one user, then one image from another.

One worker process at the default concurrency (32) against the simulator at a fixed
latency L: the batch fills every thread and queues the rest (~7 waves). Reported: the
second user's wait (submit → started_at) as a multiple of L, aiming at ≤ 1 × L (it starts
in the next free slot, not after the batch), and nothing lost: all 201 terminal and the
ledger's billed calls equal to the simulator's own count of billed calls.
"""

from __future__ import annotations

import json
import time
import urllib.request

from bench.harness import (
    PYTHON,
    BenchError,
    Config,
    DataDir,
    Outcome,
    Row,
    spawn,
    start_simulator,
    stop,
    wait_for_log,
)

TITLE = "fair share: one image behind a 200-image batch"
BATCH = 200
PER_REQUEST = 10
MODEL = "gpt-image-2-all"
AIM_RATIO = 1.0


def run(config: Config) -> Outcome:
    latency = 2.0 if config.quick else 5.0
    outcome = Outcome()
    label = f"j. 1 image after a {BATCH}-image batch, concurrency 32"
    with DataDir(config, "j-sim") as scratch:
        sim, base = start_simulator(latency, scratch.logs)
        try:
            with DataDir(config, "j") as data:
                data.use_simulator(base)
                data.migrate()
                data.child("fairness", "setup", timeout=60)
                log = data.logs / "worker.log"
                worker = spawn(
                    [PYTHON, "-m", "celery", "-A", "imagestudio", "worker", "--pool", "threads"]
                    + ["--concurrency", "32", "--loglevel", "INFO", "--without-gossip"]
                    + ["--without-mingle", "--hostname", "bench-j@%h"],
                    data.env(),
                    log,
                )
                try:
                    wait_for_log(log, " ready.", worker, timeout=60)
                    wait_s = latency * (BATCH / 32 + 4) + 60
                    result = data.child(
                        "fairness", "submit_and_wait", timeout=wait_s + 60, wait_s=wait_s
                    )
                finally:
                    stop(worker)
            billed_by_gateway = _billed(base)
        except BenchError as exc:
            outcome.rows.append(Row(label, f"could not run: {exc}", could_not_run=True))
            return outcome
        finally:
            stop(sim)
    ratio = result["single_wait_s"] / latency
    outcome.rows.append(
        Row(
            f"{label}: the second user's wait / L",
            f"{ratio:.2f} × L ({result['single_wait_s']:.2f} s, L = {latency:g} s)",
            f"≤ {AIM_RATIO:g} × L",
            ratio <= AIM_RATIO,
        )
    )
    lost = result["terminal"] != BATCH + 1 or result["ledger_billed"] != billed_by_gateway
    outcome.rows.append(
        Row(
            f"{label}: nothing lost",
            f"{result['terminal']}/{BATCH + 1} terminal; ledger {result['ledger_billed']} billed "
            f"calls, simulator {billed_by_gateway}",
            "all terminal, ledger = simulator",
            not lost,
        )
    )
    outcome.notes.append(
        f"j: the batch's last image finished {result['batch_wall_s']:.1f} s after the first "
        f"submit ({result['batch_wall_s'] / latency:.1f} × L); the single image finished "
        f"{result['single_done_s']:.1f} s after its own submit"
    )
    return outcome


def _billed(base: str) -> int:
    url = base.removesuffix("/v1") + "/healthz"
    with urllib.request.urlopen(url, timeout=5) as response:
        return int(json.load(response)["billed_calls"])


# --- in the Django child ----------------------------------------------------------------------
def child_setup() -> dict:
    from django.contrib.auth import get_user_model

    users = get_user_model().objects
    users.create_user("batcher", "batcher@example.com", None)
    users.create_user("colleague", "colleague@example.com", None)
    return {"ok": True}


def child_submit_and_wait(wait_s: float) -> dict:
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from imagestudio.spend.models import Attempt
    from imagestudio.studio import services
    from imagestudio.studio.models import PENDING, Generation

    users = get_user_model().objects
    batcher, colleague = users.get(username="batcher"), users.get(username="colleague")
    started = timezone.now()
    for number in range(BATCH // PER_REQUEST):
        request = services.validate(
            model=MODEL, prompt=f"campaign poster {number}", size="", count=PER_REQUEST
        )
        services.submit(batcher, request)
    time.sleep(0.5)  # the batch is at the broker and the workers are full
    request = services.validate(model=MODEL, prompt="one quick banner", size="", count=1)
    [single] = services.submit(colleague, request)[1]
    deadline = time.monotonic() + wait_s
    while Generation.objects.filter(status__in=PENDING).exists():
        if time.monotonic() > deadline:
            raise BenchError(f"not finished after {wait_s:.0f} s")
        time.sleep(0.1)
    single.refresh_from_db()
    rows = Generation.objects.all()
    last = max(g.finished_at for g in rows if g.finished_at and g.user_id == batcher.pk)
    return {
        "single_wait_s": (single.started_at - single.created_at).total_seconds(),
        "single_done_s": (single.finished_at - single.created_at).total_seconds(),
        "batch_wall_s": (last - started).total_seconds(),
        "terminal": sum(1 for g in rows if g.finished_at),
        "ledger_billed": Attempt.objects.filter(billed=True).count(),
    }
