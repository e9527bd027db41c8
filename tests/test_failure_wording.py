"""A failure is stored as its code and parameters and said in the reader's language each
time it is shown: a worker running in English never decides what a Chinese designer reads."""

from __future__ import annotations

import importlib
import json
from decimal import Decimal

import pytest
from django.apps import apps
from django.test import Client
from django.urls import reverse
from django.utils import translation

from imagestudio.studio import messages as say
from imagestudio.studio.models import Generation, Status
from imagestudio.upstream import messages
from imagestudio.upstream.types import AttemptRecord, FailureCode, Outcome
from tests.factories import make_attempt, make_generation, make_token

pytestmark = pytest.mark.django_db

ZH = {"Accept-Language": "zh-hans"}


def attempt(number: int, outcome: Outcome, billed: bool, status: int | None) -> AttemptRecord:
    return AttemptRecord(
        number=number,
        endpoint="images/generations",
        model="gpt-image-2-vip",
        size_sent="2048x2048",
        http_status=status,
        request_id="",
        latency_ms=1000,
        outcome=outcome,
        billed=billed,
        amount=Decimal("0.03") if billed else Decimal("0"),
    )


def test_the_stored_parameters_are_json_and_hold_no_sentence():
    with translation.override("en"):
        params = messages.failure_params(
            FailureCode.DOWNLOAD_FAILED,
            [
                attempt(1, Outcome.TIMEOUT, True, None),
                attempt(2, Outcome.DOWNLOAD_FAILED, True, 200),
            ],
            http_status=200,
            detail="the CDN said 404",
            reason=messages.link_status(404),
            timeout_seconds=300,
        )
    assert json.loads(json.dumps(params)) == params
    assert params == {
        "tries": 2,
        "billed": ["0.03", "0.03"],
        "http_status": 200,
        "reason": "link_status",
        "reason_args": {"status": 404},
    }


def test_a_failure_recorded_by_an_english_worker_reads_in_chinese(client, owner):
    with translation.override("en"):
        params = messages.failure_params(
            FailureCode.SATURATED,
            [attempt(n, Outcome.SATURATED, False, 429) for n in (1, 2, 3)],
            http_status=429,
            detail="",
            reason="",
            timeout_seconds=300,
        )
    g = make_generation(owner, status=Status.RUNNING)
    assert g.finish_failed(None, code=FailureCode.SATURATED, params=params)
    client.force_login(owner)
    chinese = client.get(reverse("studio:detail", args=[g.pk]), headers=ZH).content.decode()
    english = client.get(reverse("studio:detail", args=[g.pk])).content.decode()
    with translation.override("zh-hans"):
        said = say.explain(FailureCode.SATURATED, params)
    assert "3" in said and "overloaded" not in said
    assert said in chinese and "overloaded" not in chinese
    assert "The gateway is overloaded right now (still after 3 tries)." in english


def test_a_download_failures_reason_is_said_in_the_readers_language():
    params = messages.failure_params(
        FailureCode.DOWNLOAD_FAILED,
        [attempt(1, Outcome.DOWNLOAD_FAILED, True, 200)],
        http_status=200,
        detail="",
        reason=messages.link_status(403),
        timeout_seconds=0,
    )
    with translation.override("en"):
        english = say.explain(FailureCode.DOWNLOAD_FAILED, params)
    with translation.override("zh-hans"):
        chinese = say.explain(FailureCode.DOWNLOAD_FAILED, params)
    assert "the image link answered HTTP 403" in english and "($0.03)" in english
    assert "403" in chinese and "image link" not in chinese


def test_the_studios_own_failures_need_no_parameters():
    with translation.override("zh-hans"):
        lost = say.explain(FailureCode.WORKER_LOST, {})
    with translation.override("en"):
        assert "not retried automatically" in say.explain(FailureCode.WORKER_LOST)
        assert say.explain("") == ""
    assert lost and "worker" not in lost


def test_rows_failed_before_the_change_get_parameters_from_their_ledger_rows(owner):
    g = make_generation(owner, status=Status.FAILED, error_code=FailureCode.INVALID_REQUEST)
    make_attempt(owner, "rejected", generation=g, http_status=400, error_message="bad size")
    refused = make_generation(
        owner, status=Status.REFUSED, error_code=FailureCode.SOFT_REFUSAL, reply="I can't."
    )
    make_attempt(owner, "soft_refusal", generation=refused, http_status=200)
    canceled = make_generation(owner, status=Status.CANCELED, error_code=FailureCode.CANCELED)
    migration = importlib.import_module(
        "imagestudio.studio.migrations.0012_generation_error_params"
    )
    migration.params_from_ledger(apps, None)
    g.refresh_from_db()
    refused.refresh_from_db()
    canceled.refresh_from_db()
    assert g.error_params == {"tries": 1, "billed": [], "http_status": 400, "detail": "bad size"}
    assert [Decimal(amount) for amount in refused.error_params.pop("billed")] == [Decimal("0.03")]
    assert refused.error_params == {"tries": 1, "http_status": 200, "detail": "I can't."}
    assert canceled.error_params == {}
    with translation.override("en"):
        assert "(HTTP 400): “bad size”" in Generation.objects.get(pk=g.pk).error_message
        assert "“I can't.”" in refused.error_message


def test_the_api_says_a_failure_in_the_callers_language(owner):
    g = make_generation(
        owner,
        status=Status.FAILED,
        error_code=FailureCode.TIMEOUT,
        error_params={"tries": 1, "timeout": 300},
    )
    _, raw = make_token(owner)
    api = Client(headers={"Authorization": f"Bearer {raw}", **ZH})
    message = api.get(f"/api/v1/generations/{g.pk}").json()["error"]["message"]
    assert "300" in message and "gateway" not in message
