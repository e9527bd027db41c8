"""The cap on gateway calls in flight and the fair share across users (issue 12, part 5),
run against the real simulator: whichever delivery a worker gets, the next job is the
fair one, and no call starts while IMAGESTUDIO_UPSTREAM_MAX_IN_FLIGHT are running."""

from __future__ import annotations

import threading

import pytest
from django.urls import reverse

from imagestudio.studio.models import Generation, SlotsFull, Status, queue_snapshot
from imagestudio.studio.tasks import run_generation
from tests.factories import make_generation, make_user

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


def test_a_colleagues_single_image_goes_before_the_rest_of_a_big_batch(owner):
    colleague = make_user("colleague")
    running(owner, 2)
    batch = queued(owner, 5)
    [single] = queued(colleague, 1)
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
