"""The ledger's own notes on a call (a worker lost, a call only the gateway's log knew, an
answer the studio could not read) are a key and its numbers, said in the reader's language
where a page shows the row; the gateway's own words stay as they came."""

from __future__ import annotations

import importlib
from decimal import Decimal

import pytest

from imagestudio.spend import ledger
from imagestudio.spend.models import Attempt
from imagestudio.upstream.types import AttemptRecord, Outcome
from tests.factories import make_attempt, make_generation

pytestmark = pytest.mark.django_db
ZH = {"Accept-Language": "zh-hans"}
EN = {"Accept-Language": "en"}


def call(**fields) -> AttemptRecord:
    values = {
        "number": 1,
        "endpoint": "images/generations",
        "model": "gpt-image-2-vip",
        "size_sent": "1024x1024",
        "http_status": 502,
        "request_id": "req-1",
        "latency_ms": 900,
        "outcome": Outcome.UPSTREAM_ERROR,
        "billed": False,
        "amount": Decimal("0"),
    }
    return AttemptRecord(**(values | fields))


def written(owner, generation, record: AttemptRecord) -> Attempt:
    return ledger.record(
        record, generation_id=generation.pk, user_id=owner.pk, team_id=None, size_asked="1k"
    )


def test_an_unreadable_answer_is_noted_in_the_readers_language_not_in_english(owner_client, owner):
    generation = make_generation(owner, status="failed", error_code="bad_response")
    written(
        owner,
        generation,
        call(
            http_status=302,
            error_message="unexpected HTTP 302",
            note="answer_unexpected_status",
            note_params={"status": 302},
        ),
    )
    zh = owner_client.get(f"/g/{generation.pk}/", headers=ZH).content.decode()
    en = owner_client.get(f"/g/{generation.pk}/", headers=EN).content.decode()

    assert "它返回了意外的 HTTP 状态 302。" in zh and "unexpected HTTP" not in zh
    assert "It answered with an unexpected HTTP status 302." in en
    assert "unexpected HTTP 302" not in en  # the studio's English detail is for staff


def test_a_late_answer_of_a_call_billed_as_lost_keeps_the_gateways_words_and_says_why_it_is_free(
    owner_client, owner
):
    generation = make_generation(owner, status="failed", error_code="worker_lost")
    lost = ledger.lost_call(
        number=1, model="gpt-image-2-vip", endpoint="images/generations", size_sent="", latency_ms=5
    )
    written(owner, generation, lost)
    late = written(
        owner,
        generation,
        call(outcome=Outcome.SOFT_REFUSAL, billed=True, error_message="Sorry, I can't draw that."),
    )

    assert (late.billed, late.note, late.error_message) == (
        False,
        "billed_as_lost",
        "Sorry, I can't draw that.",
    )
    zh = owner_client.get(f"/g/{generation.pk}/", headers=ZH).content.decode()
    assert "已作为随工作进程丢失的调用计费一次：不再重复计费。" in zh
    assert "工作进程在这次调用中停止；网关仍会计费。" in zh
    assert "Sorry, I can&#x27;t draw that." in zh  # the gateway's own words, as they came
    assert "billed as lost" not in zh and "heart" not in zh


def test_a_call_added_by_reconciliation_says_so_on_the_users_spend_page(owner_client, owner):
    found = ledger.found_in_log(
        model="gpt-image-2-vip", endpoint="images/generations", request_id="r-9", latency_ms=3
    )
    ledger.record(found, generation_id=None, user_id=owner.pk, team_id=None, size_asked="")
    zh = owner_client.get("/spend/mine/", headers=ZH).content.decode()
    en = owner_client.get("/spend/mine/", headers=EN).content.decode()

    assert "仅见于网关的日志：由对账补记。" in zh and "gateway&#x27;s log" not in zh
    assert "Found only in the gateway&#x27;s log: added by reconciliation." in en


@pytest.mark.parametrize(
    ("old", "note", "params", "kept"),
    [
        ("billed as lost with its worker; Sorry.", "billed_as_lost", {}, "Sorry."),
        ("found only in the gateway's log", "found_in_log", {}, ""),
        ("the worker stopped beating its heart during the call", "worker_stopped", {}, ""),
        ("unexpected HTTP 302", "answer_unexpected_status", {"status": 302}, None),
        (
            "HTTP 502: the answer is longer than 1000 bytes",
            "answer_too_large",
            {"limit": 1000},
            None,
        ),
        ("the answer is longer than 64 bytes", "answer_too_large", {"limit": 64}, None),
        ("the answer's JSON is nested too deep to read", "answer_garbled", {}, None),
        ("b64_json: Incorrect padding", "answer_not_decodable", {}, None),
        ("Upstream busy, try later", "", {}, None),
    ],
)
def test_the_migration_reads_the_old_english_notes_back_into_keys(old, note, params, kept):
    migration = importlib.import_module("imagestudio.spend.migrations.0013_attempt_note")

    assert migration.note_of(old) == (note, params, old if kept is None else kept)


def test_a_row_with_no_note_shows_only_its_outcome(owner_client, owner):
    generation = make_generation(owner, status="failed", error_code="timeout")
    make_attempt(owner, "timeout", generation=generation)

    zh = owner_client.get(f"/g/{generation.pk}/", headers=ZH).content.decode()
    assert "data-ledger-note" not in zh
