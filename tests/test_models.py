from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from imagestudio import catalog
from imagestudio.spend.models import AppendOnlyError, Attempt
from imagestudio.studio.models import Generation, Status
from imagestudio.upstream import types as t
from tests.factories import make_generation

pytestmark = pytest.mark.django_db


@pytest.fixture
def generation(owner):
    return make_generation(owner, size="3840x2160")


def record(number=1, outcome=t.Outcome.IMAGE, status=200, size="3840x2160") -> t.AttemptRecord:
    billed = outcome in t.BILLED_OUTCOMES
    return t.AttemptRecord(
        number=number,
        endpoint="images/generations",
        model=catalog.VIP,
        size_sent=size,
        http_status=status,
        request_id=f"req-{number}",
        latency_ms=1200,
        outcome=outcome,
        billed=billed,
        amount=catalog.price(catalog.VIP) if billed else Decimal("0"),
    )


def test_claim_is_won_once(generation):
    assert Generation.claim(generation.pk)
    assert not Generation.claim(generation.pk)  # a duplicate delivery does nothing
    generation.refresh_from_db()
    assert generation.status == Status.RUNNING and generation.started_at is not None


def test_canceled_job_cannot_be_claimed(generation):
    assert generation.cancel()
    assert not Generation.claim(generation.pk)
    generation.refresh_from_db()
    assert generation.status == Status.CANCELED and not generation.billed


def test_running_job_cannot_be_canceled(generation):
    Generation.claim(generation.pk)
    assert not generation.cancel()


def test_fallback_success_costs_only_the_billed_attempt(generation):
    Generation.claim(generation.pk)
    generation.record_attempt(record(1, t.Outcome.UPSTREAM_ERROR, 500))
    stored = {
        "image": "images/x.png",
        "thumbnail": "thumbs/x.webp",
        "width": 2048,
        "height": 1152,
        "bytes": 10,
        "sha256": "0" * 64,
    }
    assert generation.finish_succeeded(record(2, size="2048x1152"), stored=stored, fell_back=True)
    generation.refresh_from_db()
    assert generation.status == Status.SUCCEEDED
    assert generation.attempts == 2
    assert generation.cost_usd == Decimal("0.03")
    assert generation.billed and generation.fell_back_to_2k
    rows = list(generation.attempt_rows.order_by("number"))
    assert [(r.outcome, r.billed, r.amount) for r in rows] == [
        ("upstream_error", False, Decimal("0")),
        ("image", True, Decimal("0.03")),
    ]
    assert rows[1].size_tier == "2k"


def test_soft_refusal_is_refused_and_billed(generation):
    Generation.claim(generation.pk)
    generation.finish_failed(record(1, t.Outcome.SOFT_REFUSAL), code="soft_refusal", refused=True)
    generation.refresh_from_db()
    assert generation.status == Status.REFUSED
    assert generation.cost_usd == Decimal("0.03") and generation.billed


def test_timeouts_then_content_policy_sum_billed_attempts_only(generation):
    Generation.claim(generation.pk)
    generation.record_attempt(record(1, t.Outcome.TIMEOUT, None))
    generation.record_attempt(record(2, t.Outcome.SATURATED, 429))
    generation.finish_failed(record(3, t.Outcome.CONTENT_POLICY, 500), code="content_policy")
    generation.refresh_from_db()
    assert generation.status == Status.FAILED
    assert generation.attempts == 3
    assert generation.cost_usd == Decimal("0.03")  # only the timeout was billed
    assert sum(a.amount for a in generation.attempt_rows.all()) == generation.cost_usd


def test_ledger_is_append_only(generation):
    Generation.claim(generation.pk)
    generation.record_attempt(record(1, t.Outcome.TIMEOUT, None))
    row = Attempt.objects.get()
    row.billed = False
    with pytest.raises(AppendOnlyError):
        row.save()
    with pytest.raises(AppendOnlyError):
        row.delete()


def test_sweep_fails_stale_running_jobs_without_rerunning(generation, settings):
    Generation.claim(generation.pk)
    stale = timezone.now() - timedelta(seconds=settings.STALE_RUNNING_SECONDS + 5)
    Generation.objects.filter(pk=generation.pk).update(heartbeat_at=stale)
    fresh = make_generation(generation.user, batch=generation.batch, model=catalog.ALL)
    Generation.claim(fresh.pk)
    assert Generation.sweep_stale() == 1
    generation.refresh_from_db()
    fresh.refresh_from_db()
    assert generation.status == Status.FAILED and generation.error_code == "worker_lost"
    assert "not retried" in generation.error_message
    assert fresh.status == Status.RUNNING
    assert not Generation.claim(generation.pk)


def test_heartbeat_keeps_a_running_job_alive(generation, settings):
    Generation.claim(generation.pk)
    stale = timezone.now() - timedelta(seconds=settings.STALE_RUNNING_SECONDS + 5)
    Generation.objects.filter(pk=generation.pk).update(heartbeat_at=stale)
    assert Generation.heartbeat([generation.pk]) == 1
    assert Generation.sweep_stale() == 0


def test_soft_delete_removes_files_keeps_ledger(generation):
    image = default_storage.save("images/a.png", ContentFile(b"png"))
    thumb = default_storage.save("thumbs/a.webp", ContentFile(b"webp"))
    Generation.claim(generation.pk)
    generation.finish_succeeded(
        record(1),
        stored={
            "image": image,
            "thumbnail": thumb,
            "width": 1,
            "height": 1,
            "bytes": 3,
            "sha256": "0" * 64,
        },
        fell_back=False,
    )
    generation.refresh_from_db()
    generation.soft_delete()
    assert not default_storage.exists(image) and not default_storage.exists(thumb)
    assert not Generation.objects.visible().filter(pk=generation.pk).exists()
    assert Attempt.objects.filter(generation=generation).count() == 1


def test_for_user_scopes_to_owner_unless_staff(generation, other_user, admin_user):
    assert list(Generation.objects.changeable_by(generation.user)) == [generation]
    assert list(Generation.objects.changeable_by(other_user)) == []
    assert list(Generation.objects.changeable_by(admin_user)) == [generation]


def test_request_ids_follow_the_ledger_in_order(generation):
    Generation.claim(generation.pk)
    generation.record_attempt(record(1, t.Outcome.SATURATED, 429))
    no_id = record(2, t.Outcome.TIMEOUT, None)
    no_id.request_id = ""
    generation.record_attempt(no_id)
    generation.finish_failed(record(3, t.Outcome.CONTENT_POLICY, 500), code="content_policy")
    generation.refresh_from_db()
    assert generation.upstream_request_ids == ["req-1", "req-3"]
    ledger_ids = [a.request_id for a in generation.attempt_rows.order_by("number") if a.request_id]
    assert generation.upstream_request_ids == ledger_ids


def test_lost_queued_jobs_are_resent_once_per_period(generation, settings):
    long_ago = timezone.now() - timedelta(seconds=settings.REQUEUE_QUEUED_SECONDS + 5)
    Generation.objects.filter(pk=generation.pk).update(sent_at=long_ago)
    assert Generation.take_unsent() == [generation.pk]
    assert Generation.take_unsent() == []  # not again at the next sweep
    Generation.claim(generation.pk)
    Generation.objects.filter(pk=generation.pk).update(sent_at=long_ago)
    assert Generation.take_unsent() == []  # running jobs are never re-sent


def test_a_lost_message_is_resent_within_a_minute_and_a_long_wait_ever_more_rarely(
    generation, settings
):
    assert settings.REQUEUE_QUEUED_SECONDS + settings.SWEEP_SECONDS < 60
    now = timezone.now()

    def waited(since_submit: int, since_send: int) -> list[int]:
        Generation.objects.filter(pk=generation.pk).update(
            created_at=now - timedelta(seconds=since_submit),
            sent_at=now - timedelta(seconds=since_send),
        )
        return Generation.take_unsent()

    # Sent once at submit and never taken: sent again once REQUEUE has passed.
    assert waited(settings.REQUEUE_QUEUED_SECONDS + 1, settings.REQUEUE_QUEUED_SECONDS + 1)
    # In a queue for an hour, last sent 10 min ago (50 min after submit): not yet.
    assert waited(3600, 600) == []
    # Last sent an hour ago, half an hour after submit: again.
    assert waited(5400, 3600) == [generation.pk]
