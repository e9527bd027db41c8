"""A call lost with its worker is billed once, never repeated (issue 12, part 2).

The first tests drive the sweep and the late worker against the database; the last kills
a real Celery worker (-9) in the middle of a call to a real simulator process and checks
the ledger against the simulator's own count of the calls it billed."""

from __future__ import annotations

import os
import signal
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from django.db.models import Sum
from django.utils import timezone

from imagestudio import catalog
from imagestudio.spend.models import Attempt
from imagestudio.studio.models import Generation, Status
from imagestudio.studio.tasks import sweep
from imagestudio.upstream.types import AttemptRecord, Outcome

from .conftest import running_simulator
from .factories import make_generation
from .test_integration import broker, get, post, start_worker, stop, token, wait_until  # noqa: F401

PRICE = catalog.gateway_price(catalog.VIP)


def ledger_total() -> Decimal:
    return Attempt.objects.filter(billed=True).aggregate(t=Sum("amount"))["t"] or Decimal("0")


def running_and_silent(user, settings, **fields) -> Generation:
    generation = make_generation(user, **fields)
    assert Generation.claim(generation.pk)
    silent = timezone.now() - timedelta(seconds=settings.STALE_RUNNING_SECONDS + 5)
    # Its worker died with a request at the gateway.
    Generation.objects.filter(pk=generation.pk).update(heartbeat_at=silent, calling_since=silent)
    return generation


def answer(number: int = 1, *, outcome=Outcome.IMAGE, billed: bool = True) -> AttemptRecord:
    return AttemptRecord(
        number=number,
        endpoint=catalog.GENERATIONS,
        model=catalog.VIP,
        size_sent=catalog.DEFAULT_VIP_SIZE,
        http_status=200 if billed else 500,
        request_id="req-late",
        latency_ms=200_000,
        outcome=outcome,
        billed=billed,
        amount=PRICE if billed else Decimal("0"),
    )


@pytest.mark.django_db
class TestTheSweep:
    def test_a_lost_job_fails_with_a_billed_lost_row_for_its_call(self, owner, settings):
        generation = running_and_silent(owner, settings)
        assert sweep()["failed"] == 1
        generation.refresh_from_db()
        assert (generation.status, generation.error_code) == (Status.FAILED, "worker_lost")
        [row] = generation.attempt_rows.all()
        assert (row.outcome, row.billed, row.amount, row.number) == (
            Outcome.LOST,
            True,
            PRICE,
            1,
        )
        assert row.endpoint == catalog.GENERATIONS and row.size_tier == generation.size_tier
        assert generation.billed and generation.cost_usd == PRICE and generation.attempts == 1

    def test_the_lost_row_is_the_attempt_after_those_already_written(self, owner, settings):
        generation = running_and_silent(owner, settings)
        generation.record_attempt(answer(1, outcome=Outcome.SATURATED, billed=False))
        generation.mark_calling()  # the retry goes out
        Generation.objects.filter(pk=generation.pk).update(
            heartbeat_at=timezone.now() - timedelta(seconds=settings.STALE_RUNNING_SECONDS + 5)
        )
        sweep()
        numbers = list(generation.attempt_rows.values_list("number", "outcome"))
        assert numbers == [(1, Outcome.SATURATED), (2, Outcome.LOST)]
        assert ledger_total() == PRICE

    def test_a_job_lost_between_two_attempts_fails_unbilled(self, owner, settings):
        generation = running_and_silent(owner, settings)
        # Its 429 is in the ledger; the worker died in the wait before the retry.
        generation.record_attempt(answer(1, outcome=Outcome.SATURATED, billed=False))
        assert sweep()["failed"] == 1
        generation.refresh_from_db()
        assert (generation.status, generation.error_code) == (Status.FAILED, "worker_lost")
        assert list(generation.attempt_rows.values_list("outcome", flat=True)) == ["saturated"]
        assert ledger_total() == 0

    def test_a_job_lost_before_its_first_request_fails_unbilled(self, owner, settings):
        generation = running_and_silent(owner, settings)
        Generation.objects.filter(pk=generation.pk).update(calling_since=None)
        assert sweep()["failed"] == 1
        assert not Attempt.objects.exists()

    def test_a_second_sweep_bills_nothing_more(self, owner, settings):
        running_and_silent(owner, settings)
        assert sweep()["failed"] == 1
        assert sweep()["failed"] == 0
        assert Attempt.objects.count() == 1 and ledger_total() == PRICE

    def test_a_job_whose_worker_still_beats_is_left_alone(self, owner, settings):
        generation = make_generation(owner)
        Generation.claim(generation.pk)
        assert sweep()["failed"] == 0
        generation.refresh_from_db()
        assert generation.status == Status.RUNNING and not Attempt.objects.exists()

    def test_a_lost_edit_is_billed_at_the_edits_endpoint(self, owner, settings):
        running_and_silent(owner, settings, kind="edit")
        sweep()
        assert Attempt.objects.get().endpoint == catalog.EDITS


@pytest.mark.django_db
class TestTheWorkerThatComesBack:
    def test_a_late_image_revives_the_job_without_a_second_charge(self, owner, settings):
        generation = running_and_silent(owner, settings)
        sweep()
        assert generation.finish_succeeded(answer(1), stored={"width": 7}, fell_back=False)
        generation.refresh_from_db()
        assert generation.status == Status.SUCCEEDED and generation.width == 7
        assert generation.cost_usd == PRICE and ledger_total() == PRICE
        late = generation.attempt_rows.get(outcome=Outcome.IMAGE)
        assert not late.billed and late.request_id == "req-late"
        assert late.note == "billed_as_lost"

    def test_a_late_billed_timeout_is_not_billed_again(self, owner, settings):
        generation = running_and_silent(owner, settings)
        sweep()
        generation.finish_failed(answer(1, outcome=Outcome.TIMEOUT), code="timeout")
        generation.refresh_from_db()
        assert generation.error_code == "worker_lost"
        assert ledger_total() == PRICE

    def test_a_retry_the_late_worker_made_afterwards_is_a_new_billed_call(self, owner, settings):
        generation = running_and_silent(owner, settings)
        sweep()
        generation.record_attempt(answer(1, outcome=Outcome.TIMEOUT))
        generation.finish_succeeded(answer(2), stored={}, fell_back=False)
        assert ledger_total() == 2 * PRICE
        generation.refresh_from_db()
        assert generation.cost_usd == 2 * PRICE

    def test_a_duplicate_delivery_after_the_sweep_is_never_sent(self, owner, settings, gateway):
        from imagestudio.studio.tasks import run_generation

        generation = running_and_silent(owner, settings)
        sweep()
        assert run_generation(generation.pk) == "skipped"
        assert Attempt.objects.count() == 1 and ledger_total() == PRICE


def simulator_health(base: str) -> dict:
    return httpx.get(base.removesuffix("/v1") + "/healthz", timeout=5).json()


def simulator_billed(base: str) -> int:
    return int(simulator_health(base)["billed_calls"])


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_call_is_billed_once_as_the_simulator_billed_it(
    client,
    settings,
    tmp_path,
    broker,  # noqa: F811
    token,  # noqa: F811
):
    settings.STALE_RUNNING_SECONDS = 3
    with running_simulator("--latency", "0") as base:
        worker = start_worker(settings, tmp_path, base, broker, IMAGESTUDIO_HEARTBEAT_SECONDS="1")
        try:
            response = post(
                client, token, {"model": "gpt-image-2-all", "prompt": "[sim:latency=3] slow"}
            )
            [g] = response.json()["generations"]
            wait_until(lambda: simulator_health(base)["in_flight"] == 1, 60, "the call sent")
            os.killpg(worker.pid, signal.SIGKILL)  # the worker dies mid-call
            worker.wait(5)
            # The gateway finishes the call for nobody, and bills it.
            wait_until(lambda: simulator_billed(base) == 1, 30, "the simulator to bill")
            wait_until(lambda: sweep()["failed"] == 1, 30, "the sweep to give the job up")
            assert sweep()["failed"] == 0

            state = get(client, token, g["id"])
            assert (state["status"], state["error"]["code"]) == ("failed", "worker_lost")
            assert state["billed"] is True
            assert ledger_total() == simulator_billed(base) * catalog.price(catalog.ALL)

            # A new worker takes the next image; nothing is sent twice.
            worker = start_worker(
                settings, tmp_path, base, broker, IMAGESTUDIO_HEARTBEAT_SECONDS="1"
            )
            [n] = post(client, token, {"model": "gpt-image-2-all", "prompt": "next"}).json()[
                "generations"
            ]
            wait_until(
                lambda: get(client, token, n["id"])["status"] == "succeeded", 60, "next image"
            )
        finally:
            stop(worker)
        assert simulator_billed(base) == 2
        assert ledger_total() == 2 * catalog.price(catalog.ALL)
        assert Generation.objects.get(pk=g["id"]).attempt_rows.count() == 1
