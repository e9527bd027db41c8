"""The cap on gateway calls in flight and the fair share across users (issue 12, part 5),
run against the real simulator: whichever delivery a worker gets, the next job is the
fair one, and no call starts while IMAGESTUDIO_UPSTREAM_MAX_IN_FLIGHT are running."""

from __future__ import annotations

import threading

import httpx
import pytest
from django.urls import reverse

from imagestudio.studio.models import Generation, SlotsFull, Status, queue_snapshot
from imagestudio.studio.tasks import run_generation
from tests.conftest import running_simulator
from tests.factories import make_generation, make_user
from tests.test_integration import broker, get, post, start_worker, stop, token, wait_until  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _gateway(gateway):
    pass


def queued(user, n: int) -> list[Generation]:
    return [make_generation(user, prompt=f"batch image {i}") for i in range(n)]


def running(user, n: int) -> list[Generation]:
    return [make_generation(user, status=Status.RUNNING) for _ in range(n)]


def status(generation: Generation) -> str:
    return Generation.objects.get(pk=generation.pk).status


@pytest.fixture
def batch_and_single(owner) -> tuple[list[Generation], Generation]:
    """The owner's batch of 5 queued behind 2 of theirs running; a colleague's one image."""
    running(owner, 2)
    batch = queued(owner, 5)
    [single] = queued(make_user("colleague"), 1)
    return batch, single


def test_a_colleagues_single_image_goes_before_the_rest_of_a_big_batch(batch_and_single):
    batch, single = batch_and_single
    # The next delivery carries a batch image; the colleague's image is the one sent.
    assert run_generation(batch[0].pk) == "succeeded"
    assert status(single) == Status.SUCCEEDED
    assert {status(g) for g in batch} == {Status.QUEUED}


def test_the_delivered_job_runs_when_its_user_is_not_ahead_of_anyone(owner):
    colleague = make_user("colleague")
    batch = queued(owner, 3)
    queued(colleague, 1)
    assert run_generation(batch[2].pk) == "succeeded"
    assert status(batch[2]) == Status.SUCCEEDED


def test_a_worker_with_threads_to_spare_runs_the_delivered_job_without_the_gate(
    batch_and_single, worker_threads
):
    # A free thread takes the colleague's message as soon as it is there: nobody waits
    # behind the batch, so the batch image the message names is the one that runs.
    batch, single = batch_and_single
    worker_threads(size=8, busy=3)
    assert run_generation(batch[0].pk) == "succeeded"
    assert status(batch[0]) == Status.SUCCEEDED
    assert status(single) == Status.QUEUED


def test_a_worker_with_no_thread_to_spare_runs_the_fair_share(batch_and_single, worker_threads):
    batch, single = batch_and_single
    # This delivery holds the last free thread: the colleague's message may wait behind
    # the batch's in the broker, so the fair share decides.
    worker_threads(size=4, busy=3)
    assert run_generation(batch[0].pk) == "succeeded"
    assert status(single) == Status.SUCCEEDED
    assert status(batch[0]) == Status.QUEUED


def test_threads_to_spare_never_pass_the_cap(owner, settings, worker_threads):
    settings.UPSTREAM_MAX_IN_FLIGHT = 2
    running(owner, 2)
    [waiting] = queued(owner, 1)
    worker_threads(size=8, busy=0)
    with pytest.raises(SlotsFull):
        Generation.take_fairly(waiting.pk, threads_to_spare=True)
    assert status(waiting) == Status.QUEUED


def test_a_job_already_taken_sends_a_spare_delivery_through_the_gate(owner, worker_threads):
    # A duplicate delivery finds its job running: it runs the next fair job instead, as
    # the gate would have had it (every queued job has a message of its own).
    [taken] = running(owner, 1)
    [other] = queued(owner, 1)
    assert Generation.take_fairly(taken.pk, threads_to_spare=True) == other
    assert status(other) == Status.RUNNING


def test_a_delivery_whose_fair_pick_is_claimed_meanwhile_claims_the_next_job(owner, monkeypatch):
    # The gate picked a job, and a delivery with threads to spare claimed it by its own
    # message before this one could: this message stands for another queued job, which
    # it must claim now rather than leave for the sweep's re-send.
    hinted, other = queued(owner, 2)
    pick = Generation._next_fair

    def picked_then_taken(hint: int):
        picked = pick(hint)
        if picked is not None and picked[0] == hinted.pk:
            assert Generation._start(picked[0])  # the spare delivery, without the gate
        return picked

    monkeypatch.setattr(Generation, "_next_fair", staticmethod(picked_then_taken))
    assert Generation.take_fairly(hinted.pk) == other
    assert status(hinted) == status(other) == Status.RUNNING


def test_no_call_starts_while_the_cap_is_reached(owner, settings):
    settings.UPSTREAM_MAX_IN_FLIGHT = 2
    running(owner, 2)
    [waiting] = queued(owner, 1)
    with pytest.raises(SlotsFull):
        Generation.take_fairly(waiting.pk)
    assert status(waiting) == Status.QUEUED


def test_a_delivery_waits_for_a_free_slot_then_runs(owner, settings):
    settings.UPSTREAM_MAX_IN_FLIGHT = 1
    [busy] = running(owner, 1)
    [waiting] = queued(owner, 1)
    results: list[str] = []
    worker = threading.Thread(target=lambda: results.append(run_generation(waiting.pk)))
    worker.start()
    try:
        worker.join(0.5)
        assert worker.is_alive() and status(waiting) == Status.QUEUED
    finally:
        # The call in flight ends: its slot goes to the waiting image.
        Generation.objects.filter(pk=busy.pk).update(status=Status.SUCCEEDED)
        worker.join(30)
    assert results == ["succeeded"]


def test_no_cap_by_default(owner, settings):
    assert settings.UPSTREAM_MAX_IN_FLIGHT == 0
    running(owner, 40)
    [image] = queued(owner, 1)
    assert run_generation(image.pk) == "succeeded"


def test_the_tile_count_of_images_ahead_follows_the_fair_share(owner, settings):
    settings.UPSTREAM_MAX_IN_FLIGHT = 1
    colleague = make_user("colleague")
    running(owner, 1)
    batch = queued(owner, 4)
    [single] = queued(colleague, 1)
    queue_snapshot(fresh=True)
    assert single.slots_ahead == 0  # fewer calls running: next
    assert batch[0].slots_ahead == 1  # the colleague's goes first
    assert batch[3].slots_ahead == 3 + 1  # its own three older ones, the colleague's one
    assert make_generation(owner, status=Status.RUNNING).slots_ahead == 0


def test_the_tile_says_how_many_are_ahead_while_images_wait_for_a_slot(
    owner, owner_client, settings
):
    settings.UPSTREAM_MAX_IN_FLIGHT = 1
    running(owner, 1)
    batch = queued(owner, 3)
    queue_snapshot(fresh=True)
    page = owner_client.get(reverse("studio:detail", args=[batch[2].pk])).content.decode()
    assert "Waiting for a free slot: 2 ahead of you." in page


def test_the_tile_says_nothing_of_slots_without_a_cap(owner, owner_client):
    running(owner, 1)
    batch = queued(owner, 3)
    queue_snapshot(fresh=True)
    page = owner_client.get(reverse("studio:detail", args=[batch[2].pk])).content.decode()
    assert "free slot" not in page


@pytest.mark.django_db(transaction=True)
def test_a_429_storm_across_two_worker_processes_keeps_to_the_cap(
    client,
    settings,
    tmp_path,
    broker,  # noqa: F811
    token,  # noqa: F811
):
    with running_simulator("--latency", "0") as base:
        cap = {"IMAGESTUDIO_UPSTREAM_MAX_IN_FLIGHT": "2"}
        workers = [
            start_worker(settings, tmp_path, base, broker, **cap),
            start_worker(settings, tmp_path, base, broker, **cap),
        ]
        try:
            ids = [
                g["id"]
                for i in range(3)
                for g in post(
                    client,
                    token,
                    {"model": "gpt-image-2-all", "prompt": f"[sim:429x2] [sim:latency=1] {i}"},
                ).json()["generations"]
            ]
            ids += [
                g["id"]
                for g in post(
                    client,
                    token,
                    {"model": "gpt-image-2-all", "prompt": "[sim:latency=1] more", "count": 3},
                ).json()["generations"]
            ]

            def done() -> bool:
                return all(get(client, token, pk)["status"] == "succeeded" for pk in ids)

            wait_until(done, 120, "six images through the storm")
        finally:
            for worker in workers:
                stop(worker)
        health = httpx.get(base.removesuffix("/v1") + "/healthz", timeout=5).json()
    assert 1 <= health["peak_in_flight"] <= 2, health
    assert health["billed_calls"] == 6
