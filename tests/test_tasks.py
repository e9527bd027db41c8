"""The job itself, run in-process against the simulated gateway over real HTTP: states,
files on storage and what the ledger says was billed."""

from __future__ import annotations

from decimal import Decimal
from functools import partial
from pathlib import Path

import pytest
from django.core.files.storage import default_storage

from imagestudio import catalog
from imagestudio.studio.models import Generation, Status
from imagestudio.studio.tasks import run_generation
from imagestudio.upstream.client import reset_client
from tests.factories import make_generation

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _gateway(gateway, settings):
    settings.UPSTREAM_MAX_ATTEMPTS = 3


# The simulator answers these sizes exactly; the tests read them back.
make = partial(make_generation, size="1280x720")


def outcomes(generation) -> list[tuple[str, bool]]:
    return [(a.outcome, a.billed) for a in generation.attempt_rows.order_by("number")]


@pytest.mark.parametrize("response_format", ["url", "b64_json"])
def test_success_stores_the_image_before_saying_succeeded(owner, settings, response_format):
    settings.UPSTREAM_RESPONSE_FORMAT = response_format
    reset_client()
    generation = make(owner)
    assert run_generation(generation.pk) == "succeeded"
    generation.refresh_from_db()
    assert generation.status == Status.SUCCEEDED
    assert (generation.width, generation.height) == (1280, 720)
    assert default_storage.exists(generation.image.name)
    assert default_storage.exists(generation.thumbnail.name)
    assert len(generation.sha256) == 64 and generation.bytes > 0
    assert generation.cost_usd == Decimal("0.03") and generation.attempts == 1
    assert outcomes(generation) == [("image", True)]
    assert generation.attempt_rows.get().request_id


def test_all_model_gets_the_phrasing_resolution(owner):
    generation = make(owner, model=catalog.ALL, size="5:2 横屏")
    run_generation(generation.pk)
    generation.refresh_from_db()
    assert (generation.width, generation.height) == (1983, 793)


def test_duplicate_delivery_does_nothing(owner):
    generation = make(owner)
    assert run_generation(generation.pk) == "succeeded"
    assert run_generation(generation.pk) == "skipped"
    assert Generation.objects.get(pk=generation.pk).attempts == 1


def test_canceled_job_is_never_sent(owner):
    generation = make(owner)
    generation.cancel()
    assert run_generation(generation.pk) == "skipped"
    assert outcomes(generation) == []


def test_4k_500_falls_back_to_2k_and_records_it(owner):
    generation = make(owner, prompt="[sim:4k-500] skyline", size="3840x2160")
    run_generation(generation.pk)
    generation.refresh_from_db()
    assert generation.status == Status.SUCCEEDED and generation.fell_back_to_2k
    assert generation.size == "3840x2160"
    assert (generation.width, generation.height) == (2048, 1152)
    assert outcomes(generation) == [("upstream_error", False), ("image", True)]
    assert generation.cost_usd == Decimal("0.03")


def test_4k_500_without_fallback_retries_at_4k_and_fails_unbilled(owner):
    generation = make(owner, prompt="[sim:4k-500] skyline", size="3840x2160", fallback_2k=False)
    run_generation(generation.pk)
    generation.refresh_from_db()
    assert generation.status == Status.FAILED and not generation.fell_back_to_2k
    assert {a.size_sent for a in generation.attempt_rows.all()} == {"3840x2160"}
    assert generation.cost_usd == Decimal("0") and not generation.billed


def test_saturation_is_retried_then_succeeds(owner):
    generation = make(owner, prompt="[sim:429x2] retry me")
    run_generation(generation.pk)
    generation.refresh_from_db()
    assert generation.status == Status.SUCCEEDED
    assert outcomes(generation) == [("saturated", False), ("saturated", False), ("image", True)]


def test_content_policy_fails_at_once_unbilled_with_advice(owner):
    generation = make(owner, prompt="[sim:content-policy] x")
    run_generation(generation.pk)
    generation.refresh_from_db()
    assert generation.status == Status.FAILED
    assert generation.error_code == "content_policy"
    assert "Change the prompt" in generation.error_message
    assert outcomes(generation) == [("content_policy", False)]


def test_soft_refusal_is_refused_and_billed(owner):
    generation = make(owner, prompt="[sim:soft-refusal] x")
    run_generation(generation.pk)
    generation.refresh_from_db()
    assert generation.status == Status.REFUSED
    assert generation.billed and generation.cost_usd == Decimal("0.03")
    assert outcomes(generation) == [("soft_refusal", True)]


def test_corrupt_image_is_a_billed_failure_never_a_success(owner):
    generation = make(owner, prompt="[sim:corrupt] x")
    run_generation(generation.pk)
    generation.refresh_from_db()
    assert generation.status == Status.FAILED and generation.error_code == "bad_image"
    assert outcomes(generation) == [("bad_image", True)]
    assert not generation.image


def test_gateway_that_never_answers_is_a_billed_timeout(owner, settings):
    settings.UPSTREAM_TIMEOUT = 1.0
    settings.UPSTREAM_MAX_ATTEMPTS = 2
    reset_client()
    generation = make(owner, prompt="[sim:timeout] x")
    run_generation(generation.pk)
    generation.refresh_from_db()
    assert generation.status == Status.FAILED and generation.error_code == "timeout"
    assert outcomes(generation) == [("timeout", True), ("timeout", True)]
    assert generation.cost_usd == Decimal("0.06")


def test_rejected_key_is_not_retried_and_names_no_secret(owner, settings):
    generation = make(owner, prompt="[sim:401] x")
    run_generation(generation.pk)
    generation.refresh_from_db()
    assert generation.error_code == "auth" and outcomes(generation) == [("rejected", False)]
    assert "sk-test" not in generation.error_message
    assert all("sk-test" not in a.error_message for a in generation.attempt_rows.all())


def test_image_finished_after_its_row_was_deleted_leaves_no_files(owner, settings):
    generation = make(owner, prompt="[sim:latency=0] deleted meanwhile")
    Generation.claim(generation.pk)
    generation.soft_delete()  # the owner deletes it while the call runs
    Generation.objects.filter(pk=generation.pk).update(status=Status.QUEUED)
    generation.refresh_from_db()
    assert generation.deleted_at is not None
    assert run_generation(generation.pk) == "deleted"
    media = Path(settings.MEDIA_ROOT)
    assert [p for p in media.rglob("*") if p.is_file()] == []
    assert generation.attempt_rows.get().billed, "the call was billed: the ledger keeps it"


def test_a_worker_told_to_stop_puts_a_delivery_back_instead_of_starting_its_call(owner):
    from celery.exceptions import Reject

    from imagestudio.studio import tasks

    generation = make(owner)
    tasks.stopping.set()
    try:
        with pytest.raises(Reject) as put_back:
            run_generation(generation.pk)
    finally:
        tasks.stopping.clear()
    assert put_back.value.requeue is True
    generation.refresh_from_db()
    assert generation.status == Status.QUEUED
    assert outcomes(generation) == []
    # The next worker to get it makes it.
    assert run_generation(generation.pk) == "succeeded"
