from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from celery import Task, shared_task
from celery.exceptions import Reject  # type: ignore[import-untyped]
from celery.signals import (  # type: ignore[import-untyped]
    celeryd_after_setup,
    worker_ready,
    worker_shutting_down,
)
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import OperationalError, close_old_connections, connection, transaction

from imagestudio import catalog
from imagestudio.ops import checks, metrics
from imagestudio.routing import breaker, chains, hops
from imagestudio.studio import conversation, imaging
from imagestudio.studio.models import Generation, Kind, SlotsFull, StagedInput, Status
from imagestudio.upstream.client import get_client
from imagestudio.upstream.types import (
    AttemptRecord,
    FailureCode,
    GenerationResult,
    Outcome,
    UpstreamFailure,
)

log = logging.getLogger(__name__)
# How often a delivery waiting for a gateway slot (IMAGESTUDIO_UPSTREAM_MAX_IN_FLIGHT)
# asks again; the wait holds a worker thread, not a call.
SLOT_POLL_SECONDS = 0.5


class _Heartbeat:
    """One thread per worker process marks every job it is running as alive.

    The sweep fails running jobs whose heartbeat is stale; a blocking 300 s gateway call
    cannot beat its own heart, so a side thread does it for all of them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids: set[int] = set()
        self._thread: threading.Thread | None = None
        # Set in a Celery worker process (worker_ready): only then does the beat also say
        # that a worker is alive (/healthz), not when a job runs inside a test or a shell.
        self.in_worker = False
        self._stop = threading.Event()

    def start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)
                self._thread.start()

    @contextmanager
    def tracking(self, pk: int) -> Iterator[None]:
        with self._lock:
            self._ids.add(pk)
        self.start()
        try:
            yield
        finally:
            with self._lock:
                self._ids.discard(pk)

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while True:
            with self._lock:
                ids = list(self._ids)
            try:
                close_old_connections()
                Generation.heartbeat(ids)
                if self.in_worker:
                    # The worker itself is alive, busy or idle (/healthz).
                    checks.worker_beat()
                # Back to the pool for the wait (PostgreSQL): kept between beats, it was
                # one of the process's few connections (IMAGESTUDIO_DB_POOL_SIZE) for good.
                close_old_connections()
            except Exception:
                log.exception("heartbeat failed")
            if self._stop.wait(settings.HEARTBEAT_SECONDS):
                return


heartbeat = _Heartbeat()


def _beat_from_the_start(**kwargs: object) -> None:
    heartbeat.in_worker = True
    heartbeat.start()


worker_ready.connect(_beat_from_the_start)

# Set when this worker process is told to stop (Ctrl+C, SIGTERM). Celery's warm shutdown
# keeps taking messages while the calls in flight finish (seen with the threads pool): a
# job claimed then would start a billed call after the stop, and past the grace it would
# be killed mid-call. Such a delivery goes back to the broker for the next start instead.
stopping = threading.Event()


def _stop_taking(**kwargs: object) -> None:
    stopping.set()


worker_shutting_down.connect(_stop_taking)


def _put_back() -> Reject:
    # A broker that hands the message straight back (Redis) would spin for the rest of
    # the grace without the pause.
    time.sleep(1)
    return Reject("the worker is stopping; delivered again after the next start", requeue=True)


def enqueue(generation_ids: list[int]) -> None:
    """Send the jobs once the rows they name are committed (ids only, never objects)."""

    def send() -> None:
        try:
            if len(generation_ids) == 1:
                run_generation.delay(generation_ids[0])
            else:
                # One message from the web request, not one per image: 200 hand-offs
                # took most of a 200-row list's submit (bench g).
                fan_out.delay(generation_ids)
        except Exception:
            # The rows are committed and queued: the sweep sends them once the broker is
            # back. Answering 500 here would make the user submit again and pay twice.
            log.exception("broker unreachable; %d job(s) left to the sweep", len(generation_ids))

    transaction.on_commit(send)


@shared_task(name="imagestudio.studio.tasks.fan_out")
def fan_out(generation_ids: list[int]) -> int:
    """A batch's one message becomes a message per job, so every free worker thread (of
    every worker process) takes one. Delivered twice (a worker lost mid-way), the jobs get
    extra messages: harmless, the claim lets one through. Lost, the sweep re-sends them."""
    for pk in generation_ids:
        run_generation.delay(pk)
    return len(generation_ids)


def _give_back_connection() -> None:
    """Before a wait of seconds to minutes: on PostgreSQL (a pool, CONN_MAX_AGE 0) the
    thread's connection goes back to the pool, so 64 threads waiting on the gateway hold
    none; SQLite's kept connection stays. Never inside a transaction."""
    if not connection.in_atomic_block:
        connection.close_if_unusable_or_obsolete()


def _released[**P](write: Callable[P, None]) -> Callable[P, None]:
    def call(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            write(*args, **kwargs)
        finally:
            _give_back_connection()

    return call


class _Threads:
    """This worker process's delivery threads: how many hold a job's delivery now, of how
    many the pool has (0 outside a worker: a test or a shell calling the task)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.size = 0
        self.busy = 0

    @contextmanager
    def holding(self) -> Iterator[None]:
        with self._lock:
            self.busy += 1
        try:
            yield
        finally:
            with self._lock:
                self.busy -= 1

    def to_spare(self) -> bool:
        return self.busy < self.size


threads = _Threads()


def _note_pool_size(instance: object, **kwargs: object) -> None:
    threads.size = int(getattr(instance, "concurrency", 0) or 0)


celeryd_after_setup.connect(_note_pool_size)


def _take(generation_id: int) -> Generation | None:
    """The job this delivery runs (the fair share's pick, see Generation.take_fairly),
    once a gateway slot is free; None when no job is waiting."""
    while True:
        if stopping.is_set():
            raise _put_back()
        try:
            return Generation.take_fairly(generation_id, threads_to_spare=threads.to_spare())
        except SlotsFull:
            _give_back_connection()
            time.sleep(SLOT_POLL_SECONDS)


@shared_task(bind=True, name="imagestudio.studio.tasks.run_generation", max_retries=None)
def run_generation(self: Task, generation_id: int) -> str:
    with threads.holding():
        return _deliver(self, generation_id)


def _deliver(self: Task, generation_id: int) -> str:
    try:
        generation = _take(generation_id)
    except OperationalError as exc:
        # No database connection for the claim (a restart, the pool empty too long): the
        # job is still queued, so deliver it again later rather than drop it until the
        # sweep's re-send. Nothing was claimed or sent, so this cannot bill twice.
        log.warning("claim of generation %s failed (%s); retrying", generation_id, exc)
        raise self.retry(exc=exc, countdown=min(60, 2**self.request.retries)) from exc
    if generation is None:
        # Canceled, already running elsewhere, or a duplicate delivery: nothing to do.
        return "skipped"
    with heartbeat.tracking(generation.pk):
        try:
            return _run(generation)
        except Exception:
            log.exception("generation %s crashed", generation.pk)
            generation.finish_failed(
                None,
                code=FailureCode.INTERNAL_ERROR,
            )
            raise


def _call_gateway(
    generation: Generation,
    route: str,
    offset: int,
    then_reroute: bool = False,
    size: str = "",
) -> GenerationResult:
    """One route's call. Its attempts are numbered after those of the routes before it:
    the ledger numbers an image's attempts once, whichever route made them. With
    `then_reroute` (a next route is there) a route failure is not retried on this route.
    `size`: the route's own nearest size when it does not make the one asked for."""

    def numbered(record: AttemptRecord) -> AttemptRecord:
        return replace(record, number=record.number + offset) if offset else record

    def on_attempt(record: AttemptRecord) -> None:
        generation.record_attempt(numbered(record))

    client = get_client()
    attempt_hook = _released(on_attempt)
    options = _options(generation, route)
    if generation.kind == Kind.EDIT:
        result = client.edit(
            model=route,
            prompt=generation.text_for(route),
            size=size or generation.size,
            images=conversation.input_images(generation),
            quality=options["quality"],
            background=options["background"],
            output_format=options["output_format"],
            # A fallback route that repaints nothing locally gets no mask.
            mask=conversation.mask_image(generation) if catalog.accepts_mask(route) else None,
            allow_fallback=generation.fallback_2k,
            then_reroute=then_reroute,
            on_attempt=attempt_hook,
            on_send=_released(generation.mark_calling),
        )
    elif generation.kind == Kind.CHAT:
        result = client.chat(
            model=route,
            messages=conversation.messages(generation),
            on_attempt=attempt_hook,
            on_send=_released(generation.mark_calling),
        )
    else:
        result = client.generate(
            model=route,
            prompt=generation.text_for(route),
            size=size or generation.size,
            quality=options["quality"],
            background=options["background"],
            output_format=options["output_format"],
            allow_fallback=generation.fallback_2k,
            then_reroute=then_reroute,
            on_attempt=attempt_hook,
            on_send=_released(generation.mark_calling),
        )
    result.attempts = [numbered(r) for r in result.attempts]
    result.final_attempt = numbered(result.final_attempt)
    return result


def _route(generation: Generation) -> tuple[GenerationResult, bool]:
    """The request on each route of its chain in turn (routing.chains), until one makes
    the image or fails in a way another route would not change; each route's attempts
    are their own ledger rows. Returns the last route's result and whether its final
    attempt is still to be written (with the status change). A next route the budget or
    staff's rules did not allow is noted in the image's hops, with why."""
    plan = chains.plan(generation.model, generation.size, generation.endpoint)
    tier = catalog.size_tier(generation.model, generation.size)
    done: list[dict] = []
    offset = 0
    result: GenerationResult | None = None
    for index, route in enumerate(plan.routes):
        last = index == len(plan.routes) - 1
        policy = chains.policy(route, tier)
        admission = breaker.admit(route, tier, policy)
        if admission is breaker.Admission.SKIP and not last:
            done.append(hops.skipped(route).as_dict())
            continue
        if result is None:
            # Written with the call's send (mark_calling).
            generation.take_route(route, done)
        elif generation.take_hop(result.final_attempt, route, done) is not None:
            # The failed route's last attempt is in the ledger; the budget had no room.
            return result, False
        size = plan.size_for(route)
        result = _call_gateway(generation, route, offset, then_reroute=not last, size=size)
        final = result.final_attempt
        offset = final.number
        breaker.observe(
            route, tier, policy, final.outcome, probe=admission is breaker.Admission.PROBE
        )
        done.append(hops.tried(route, result, size).as_dict())
        if result.failure is None or not hops.reroutable(result.failure, final):
            break
        if last:
            done.extend(hops.not_taken(plan, generation.size))
    assert result is not None  # the last route is always tried
    # Written with the image's status change.
    generation.take_route(generation.route, done)
    return result, True


def _options(generation: Generation, route: str) -> dict[str, str]:
    """The options the image asked for that this route takes (a fallback route may take
    fewer: it then decides them itself)."""
    asked = {
        "quality": generation.quality,
        "background": generation.background,
        "output_format": generation.output_format,
    }
    return {
        name: value if value in catalog.options(route, name) else ""
        for name, value in asked.items()
    }


def _run(generation: Generation) -> str:
    result, unwritten = _route(generation)
    record = result.final_attempt if unwritten else None
    if result.failure is not None or result.image_bytes is None:
        failure = result.failure or UpstreamFailure(code=FailureCode.INTERNAL_ERROR)
        generation.finish_failed(
            record,
            code=failure.code,
            params=failure.params,
            refused=failure.refused,
            reply=failure.text,
        )
        return failure.code

    try:
        stored = imaging.store(result.image_bytes)
    except imaging.NotAnImage as exc:
        record = replace(
            result.final_attempt,
            outcome=Outcome.BAD_IMAGE,
            error_code=FailureCode.BAD_IMAGE,
            error_message=str(exc),
        )
        generation.finish_failed(
            record,
            code=FailureCode.BAD_IMAGE,
        )
        return FailureCode.BAD_IMAGE
    except Exception:
        # Paid for: kept on local disk and saved by the sweep once storage works again.
        path = imaging.rescue(generation.pk, result.image_bytes)
        log.exception("storage failed for generation %s; bytes kept at %s", generation.pk, path)
        generation.hold_for_saving(result.final_attempt, str(path))
        return "saving"

    stored["reply"] = result.text
    if not generation.finish_succeeded(
        result.final_attempt, stored=stored, fell_back=result.fell_back_to_2k
    ):
        # Deleted by its owner while the call ran: nothing points at these files.
        for name in (stored["image"], stored["thumbnail"]):
            default_storage.delete(name)
        return "deleted"
    return "succeeded"


@shared_task(name="imagestudio.studio.tasks.sweep")
def sweep() -> dict:
    """Periodic: fail running jobs whose worker died; re-send queued jobs nobody took."""
    failed = Generation.sweep_stale()
    saved = save_held()
    StagedInput.sweep()
    stuck = Generation.take_unsent()
    for pk in stuck:
        run_generation.delay(pk)
    metrics.count_sweep({"failed": failed, "requeued": len(stuck), "saved": saved})
    if failed or stuck or saved:
        log.warning(
            "sweep: %d lost running jobs failed, %d queued jobs re-sent, %d held images saved",
            failed,
            len(stuck),
            saved,
        )
    return {"failed": failed, "requeued": len(stuck), "saved": saved}


def save_held(limit: int = 100) -> int:
    """Write the images storage refused earlier whose bytes are on this machine's disk;
    each becomes succeeded. Stops at the first failure: storage is still out."""
    saved = 0
    held = Generation.objects.filter(status=Status.RUNNING).exclude(saving_from="")
    for generation in held.order_by("finished_at", "id")[:limit]:
        path = Path(generation.saving_from)
        if not path.is_file():
            continue  # another machine's disk: its own sweep saves it
        data = path.read_bytes()
        try:
            stored = imaging.store(data)
        except imaging.NotAnImage:
            log.exception("held bytes of generation %s are not an image", generation.pk)
            continue
        except Exception:
            log.warning("storage still refuses held images (generation %s)", generation.pk)
            break
        stored["reply"] = generation.reply
        if generation.finish_saved(stored=stored):
            saved += 1
        else:
            for name in (stored["image"], stored["thumbnail"]):
                default_storage.delete(name)
        path.unlink(missing_ok=True)
    return saved
