"""(a) 50 images submitted at once to ONE worker process (threads pool).

The simulator answers every call after exactly L seconds. Wall time runs from just before
the first submit (validation included, five requests of 10 as the API caps them) to the
`finished_at` of the last image, and is reported as a multiple of L: ~1 means all 50 calls
overlapped. Median of 3 rounds on the same worker (1 with --quick), in a fresh data dir,
with the defaults (IMAGESTUDIO_WORKER_CONCURRENCY's 128: one wave). The worker's peak RSS
is VmHWM from /proc/<pid>/status (the threads pool is one process), cross-checked by
sampling VmRSS.
"""

from __future__ import annotations

import os
import random
import re
import time

from bench.harness import (
    PYTHON,
    BenchError,
    Config,
    CpuSampler,
    DataDir,
    Outcome,
    Row,
    RssSampler,
    median,
    mib,
    proc_status_kib,
    spawn,
    start_simulator,
    stop,
    wait_for_log,
)

TITLE = "50 images at once, one worker"
IMAGES = 50
PER_REQUEST = 10
# 1K -vip: the simulator's drawing and the thumbnail are cheap, so L dominates.
MODEL = "gpt-image-2-vip"
SIZE = "1280x720"
AIM_RATIO = 1.1
# IMAGESTUDIO_WORKER_CONCURRENCY's default (imagestudio/settings.py, make run, the Procfile).
DEFAULT_CONCURRENCY = 128
# The issue gives no memory number; this is the bench's own.
AIM_RSS_MIB = 512
_LATENCY = re.compile(r"gateway attempt .*? latency_ms=(\d+)")


def run(config: Config) -> Outcome:
    latency = 2.0 if config.quick else 5.0
    outcome = Outcome()
    outcome.notes.append(
        f"{IMAGES} × {MODEL} {SIZE} in {IMAGES // PER_REQUEST} submits of {PER_REQUEST} "
        f"(services.validate + services.submit, as the API does); simulator latency "
        f"L = {latency:g} s fixed; SQLite + filesystem broker in a fresh data dir each time"
    )
    with DataDir(config, "a-sim") as scratch:
        sim, base = start_simulator(latency, scratch.logs)
        try:
            _one(config, base, latency, DEFAULT_CONCURRENCY, outcome, sim.pid)
        finally:
            stop(sim)
    return outcome


def _one(
    config: Config, base: str, latency: float, concurrency: int, outcome: Outcome, sim_pid: int
) -> None:
    label = f"a. {IMAGES} images, the defaults (concurrency {concurrency})"
    rounds = 1 if config.quick else 3
    try:
        results, hwm, sampled, idle = _measure(config, base, latency, concurrency, rounds, sim_pid)
    except BenchError as exc:
        outcome.rows.append(Row(label, f"could not run: {exc}", could_not_run=True))
        return
    walls = sorted(r["wall_s"] for r in results)
    wall = median(walls)
    ratio = wall / latency
    default = concurrency < IMAGES  # more than one wave: ~2 × L is expected
    succeeded = sum(r["succeeded"] for r in results)
    complete = succeeded == IMAGES * rounds
    measured = f"{ratio:.2f} × L ({wall:.2f} s, L = {latency:g} s"
    measured += (
        f", median of {rounds} rounds: {walls[0]:.2f}–{walls[-1]:.2f} s)" if rounds > 1 else ")"
    )
    if not complete:
        measured += f"; only {succeeded}/{IMAGES * rounds} succeeded"
    outcome.rows.append(
        Row(
            f"{label}: wall time / L",
            measured,
            "— (2 waves: ~2 × L)" if default else f"≤ {AIM_RATIO} × L",
            (None if complete else False) if default else complete and ratio <= AIM_RATIO,
        )
    )
    outcome.rows.append(
        Row(
            f"{label}: worker peak RSS",
            f"{mib(hwm)} (idle {mib(idle)})",
            f"≤ {AIM_RSS_MIB} MiB*",
            hwm / 1024 <= AIM_RSS_MIB,
        )
    )
    for number, result in enumerate(results, 1):
        waits, runs = result["queue_wait_s"], result["run_s"]
        outcome.notes.append(
            f"concurrency {concurrency}, round {number}: {result['succeeded']}/{IMAGES} "
            f"succeeded; wall {result['wall_s']:.2f} s (first submit → last finished_at); "
            f"submitting took {result['submit_s'] * 1000:.0f} ms; submit → started_at min "
            f"{waits['min']:.2f} / median {waits['median']:.2f} / max {waits['max']:.2f} s; "
            f"started → finished median {runs['median']:.2f} / max {runs['max']:.2f} s"
            + (
                f", of which after the answer (started → finished − the call's latency in the "
                f"ledger) median {result['after_answer_s']['median']:.2f} / max "
                f"{result['after_answer_s']['max']:.2f} s"
                if result.get("after_answer_s")
                else ""
            )
        )
        outcome.notes.append(_floor(number, result, latency))
        if result["failed"]:
            outcome.notes.append(f"concurrency {concurrency}: NOT succeeded: {result['failed']}")
    calls = results[0].get("gateway_s")
    if calls:
        outcome.notes.append(
            f"concurrency {concurrency}: the gateway calls themselves (POST sent → answer "
            f"received, from the worker's log, all rounds): median {calls['median']:.2f} s, "
            f"max {calls['max']:.2f} s over {calls['n']} calls"
        )
    outcome.notes.append(
        f"concurrency {concurrency}: peak RSS {mib(hwm)} (VmHWM over all rounds), highest "
        f"sampled VmRSS {mib(sampled)}, {mib(idle)} idle before the first round"
    )


def _measure(
    config: Config, base: str, latency: float, concurrency: int, rounds: int, sim_pid: int
) -> tuple[list[dict], int, int, int]:
    with DataDir(config, f"a-c{concurrency}") as data:
        data.use_simulator(base)
        data.migrate()
        data.child("batch", "setup", timeout=60)
        log = data.logs / "worker.log"
        worker = spawn(
            [
                PYTHON,
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
                "--without-gossip",
                "--without-mingle",
                "--hostname",
                f"bench-c{concurrency}@%h",
            ],
            data.env(IMAGESTUDIO_WORKER_CONCURRENCY=str(concurrency)),
            log,
        )
        try:
            wait_for_log(log, " ready.", worker, timeout=60)
            time.sleep(0.5)  # let start-up allocations settle before the idle reading
            idle = proc_status_kib(worker.pid).get("VmRSS", 0)
            wait_s = latency * 6 + 60
            with (
                RssSampler(worker.pid) as sampler,
                CpuSampler(worker=worker.pid, simulator=sim_pid) as cpu,
            ):
                results = data.child(
                    "batch",
                    "submit_and_wait",
                    timeout=(wait_s + 5) * rounds + 60,
                    images=IMAGES,
                    per_request=PER_REQUEST,
                    model=MODEL,
                    size=SIZE,
                    wait_s=wait_s,
                    rounds=rounds,
                )["rounds"]
            hwm = proc_status_kib(worker.pid).get("VmHWM", 0)
            if worker.poll() is not None:
                raise BenchError(f"the worker exited with {worker.returncode} during the run")
        finally:
            stop(worker)
        # The client logs each gateway call's own latency (the POST only): what is left of
        # started → finished after it is the work done once the answer is in.
        calls = [int(n) / 1000 for n in _LATENCY.findall(log.read_text(errors="replace"))]
        for result in results:
            result["gateway_s"] = (
                {"median": median(calls), "max": max(calls), "n": len(calls)} if calls else None
            )
            answered = result["first_answer_at"]
            result["cpu_after_answer_s"] = cpu.used(answered, result["ended_at"])
            result["first_answer_s"] = answered - result["began_at"]
            result["cpu_s"] = cpu.used(result["began_at"], result["ended_at"])
        return results, hwm, sampler.peak_kib, idle


def _floor(number: int, result: dict, latency: float) -> str:
    # The answers arrive within the spread of the claims; from the first answer on, each
    # image's reading, thumbnail, storage and ledger write is CPU work for the same cores.
    # Spread perfectly over all of them, it could not end sooner than this.
    cores = os.cpu_count() or 1
    after, total = result["cpu_after_answer_s"], result["cpu_s"]
    answered = result["first_answer_s"]
    floor = answered + after["worker"] / cores
    with_simulator = answered + (after["worker"] + after["simulator"]) / cores
    return (
        f"round {number}, where the time went: CPU over the round, worker "
        f"{total['worker']:.2f} s ({total['worker'] / IMAGES * 1000:.0f} ms an image), "
        f"simulator {total['simulator']:.2f} s; after the first answer ({answered:.2f} s in): "
        f"worker {after['worker']:.2f} s, simulator {after['simulator']:.2f} s. With all "
        f"{cores} cores to itself the worker could not have ended before {floor:.2f} s "
        f"({floor / latency:.2f} × L); {with_simulator:.2f} s ({with_simulator / latency:.2f} × "
        "L) with the simulator's share, which a real gateway spends on its own machines"
    )


# --- in the Django child ----------------------------------------------------------------------
def child_setup() -> dict:
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_user("bench", "bench@example.com", None)
    return {"ok": True}


def child_submit_and_wait(
    images: int, per_request: int, model: str, size: str, wait_s: float, rounds: int
) -> dict:
    # The worker looks at the filesystem broker once a second; a random pause between
    # rounds keeps the submits from always landing at the same point of that cycle.
    rng = random.Random(7)
    results = []
    for number in range(rounds):
        if number:
            time.sleep(rng.uniform(0.3, 1.3))
        results.append(_one_round(number, images, per_request, model, size, wait_s))
    return {"rounds": results}


def _one_round(
    number: int, images: int, per_request: int, model: str, size: str, wait_s: float
) -> dict:
    from django.contrib.auth import get_user_model
    from django.db.models import Count
    from django.utils import timezone

    from imagestudio.spend.models import Attempt
    from imagestudio.studio import services
    from imagestudio.studio.models import PENDING, Generation, Status

    user = get_user_model().objects.get(username="bench")
    batches = []
    submitted_at = timezone.now()
    clock = time.monotonic()
    for request_number in range(images // per_request):
        request = services.validate(
            model=model,
            prompt=f"bench round {number} request {request_number}: a lighthouse at dusk",
            size=size,
            count=per_request,
        )
        batches.append(services.submit(user, request)[0].pk)
    submit_s = time.monotonic() - clock
    mine = Generation.objects.filter(batch__in=batches)

    deadline = clock + wait_s
    while mine.filter(status__in=PENDING).exists():
        if time.monotonic() > deadline:
            counts = dict(mine.values_list("status").annotate(n=Count("id")).order_by())
            raise BenchError(f"round {number} not finished after {wait_s:.0f} s: {counts}")
        time.sleep(0.05)

    rows = list(mine.values("pk", "status", "error_code", "started_at", "finished_at"))
    # The ledger has each call's own latency: started → finished minus it is (nearly all)
    # the work done after the answer arrived, with 50 answers arriving together.
    call_s = {
        generation_id: latency_ms / 1000
        for generation_id, latency_ms in Attempt.objects.filter(
            generation__in=[r["pk"] for r in rows]
        ).values_list("generation_id", "latency_ms")
    }
    after = [
        (r["finished_at"] - r["started_at"]).total_seconds() - call_s[r["pk"]]
        for r in rows
        if r["started_at"] and r["finished_at"] and r["pk"] in call_s
    ]
    done = [r for r in rows if r["status"] == Status.SUCCEEDED]
    failed = [f"{r['status']}:{r['error_code']}" for r in rows if r["status"] != Status.SUCCEEDED]
    finished = [r["finished_at"] for r in rows if r["finished_at"]]
    waits = [(r["started_at"] - submitted_at).total_seconds() for r in rows if r["started_at"]]
    runs = [
        (r["finished_at"] - r["started_at"]).total_seconds()
        for r in rows
        if r["started_at"] and r["finished_at"]
    ]
    answers = [
        r["started_at"].timestamp() + call_s[r["pk"]]
        for r in rows
        if r["started_at"] and r["pk"] in call_s
    ]
    return {
        "succeeded": len(done),
        "failed": failed,
        "wall_s": (max(finished) - submitted_at).total_seconds(),
        # Unix times, for the CPU the worker and the simulator used between them.
        "began_at": submitted_at.timestamp(),
        "first_answer_at": min(answers),
        "ended_at": max(finished).timestamp(),
        "submit_s": submit_s,
        "queue_wait_s": {"min": min(waits), "median": median(waits), "max": max(waits)},
        "run_s": {"median": median(runs), "max": max(runs)},
        "after_answer_s": {"median": median(after), "max": max(after)} if after else None,
    }
