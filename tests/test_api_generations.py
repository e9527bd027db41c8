"""The JSON API's generation endpoints: submit, poll, list, delete, and the file URLs."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.utils import timezone

from imagestudio import catalog
from imagestudio.api.models import ApiToken
from imagestudio.prefilter import matching
from imagestudio.prefilter.models import Category
from imagestudio.spend.money import decimal_str as money
from imagestudio.studio import tasks
from imagestudio.studio.models import Batch, Generation, Status
from imagestudio.upstream.types import AttemptRecord
from tests.factories import (
    bearer,
    make_board,
    make_finished,
    make_generation,
    make_star,
    make_token,
)

pytestmark = pytest.mark.django_db

URL = "/api/v1/generations"


class Api:
    """A client that sends one user's bearer token with every request."""

    def __init__(self, user) -> None:
        token, raw = make_token(user)
        # Already "used": keeps the once-a-minute last_used_at write out of query counts.
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
        self.client = Client()
        self.headers = bearer(raw)

    def get(self, url: str, data: dict | None = None):
        return self.client.get(url, data, headers=self.headers)

    def post(self, url: str, body: object):
        payload = body if isinstance(body, str | bytes) else json.dumps(body)
        return self.client.post(url, payload, content_type="application/json", headers=self.headers)

    def delete(self, url: str):
        return self.client.delete(url, headers=self.headers)

    def put(self, url: str):
        return self.client.put(url, "{}", content_type="application/json", headers=self.headers)


@pytest.fixture
def api(owner) -> Api:
    return Api(owner)


@pytest.fixture
def other_api(other_user) -> Api:
    return Api(other_user)


@pytest.fixture
def staff_api(admin_user) -> Api:
    return Api(admin_user)


def make_succeeded(user) -> Generation:
    image = default_storage.save("images/test/a.png", ContentFile(b"\x89PNG original bytes"))
    thumb = default_storage.save("thumbs/test/a.webp", ContentFile(b"RIFF thumbnail bytes"))
    now = timezone.now()
    return make_generation(
        user,
        status=Status.SUCCEEDED,
        image=image,
        thumbnail=thumb,
        width=2048,
        height=2048,
        started_at=now,
        finished_at=now,
        attempts=1,
        billed=True,
        cost_usd=Decimal("0.0300"),
    )


def ledger(generation: Generation, number: int, request_id: str, billed: bool = True) -> None:
    # Through the model method, as the worker writes it: the ledger row and the
    # generation's counters and request ids in one transaction.
    generation.record_attempt(
        AttemptRecord(
            number=number,
            endpoint="images/generations",
            model=generation.model,
            size_sent=generation.size,
            http_status=200 if billed else 429,
            request_id=request_id,
            latency_ms=1000,
            outcome="image" if billed else "saturated",
            billed=billed,
            amount=Decimal("0.03") if billed else Decimal("0"),
        )
    )


def error_of(response) -> dict:
    assert response["Content-Type"].startswith("application/json")
    return response.json()["error"]


# --- cost format ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("0", "0.00"),
        ("0.0000", "0.00"),
        ("0.0300", "0.03"),
        ("0.0600", "0.06"),
        ("0.1000", "0.10"),
        ("0.0325", "0.0325"),
        ("10.0000", "10.00"),
        ("1.5", "1.50"),
    ],
)
def test_money_keeps_two_decimals_and_drops_the_rest_of_the_zeros(value, text):
    assert money(Decimal(value)) == text


# --- POST /generations ----------------------------------------------------------------------
def test_create_makes_count_rows_in_one_batch_and_enqueues_after_commit(
    api, owner, django_capture_on_commit_callbacks, monkeypatch
):
    body = {"model": catalog.VIP, "prompt": "a lighthouse at dusk", "size": "3840x2160"}
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api.post(URL, {**body, "count": 3, "fallback_2k": False})

    assert response.status_code == 202
    data = response.json()
    rows = list(Generation.objects.filter(batch_id=data["batch"]).order_by("id"))
    assert len(rows) == 3
    assert {r.user_id for r in rows} == {owner.pk}
    assert [g["id"] for g in data["generations"]] == [r.pk for r in rows]
    assert data["warnings"] == []
    first = data["generations"][0]
    assert first["status"] == "queued"
    assert first["batch"] == data["batch"]
    assert first["size"] == "3840x2160"
    assert first["image_url"] is None
    assert first["cost_usd"] == "0.00"
    assert first["upstream_request_ids"] == []
    assert rows[0].fallback_2k is False

    # One on-commit callback sends the whole batch as one message, which a worker turns
    # into a message per image; run both against fake sends.
    assert len(callbacks) == 1
    batches: list[list[int]] = []
    sent: list[int] = []
    monkeypatch.setattr(tasks.fan_out, "delay", batches.append)
    monkeypatch.setattr(tasks.run_generation, "delay", sent.append)
    callbacks[0]()
    assert batches == [[r.pk for r in rows]] and sent == []
    assert tasks.fan_out(batches[0]) == 3
    assert sent == [r.pk for r in rows]


def test_create_defaults_count_1_default_size_and_fallback(api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api.post(URL, {"model": catalog.VIP, "prompt": "a cat", "extra": "ignored"})
    assert response.status_code == 202
    (generation,) = response.json()["generations"]
    assert generation["size"] == catalog.DEFAULT_VIP_SIZE
    assert Generation.objects.get(pk=generation["id"]).fallback_2k is True
    assert len(callbacks) == 1


def test_create_all_model_with_a_phrasing(api, django_capture_on_commit_callbacks):
    phrasing = catalog.ALL_PHRASINGS[0].value
    with django_capture_on_commit_callbacks(execute=False):
        response = api.post(URL, {"model": catalog.ALL, "prompt": "城市夜景", "size": phrasing})
    assert response.status_code == 202
    (generation,) = response.json()["generations"]
    assert generation["size"] == phrasing
    assert generation["prompt"] == "城市夜景"
    # Readable UTF-8 on the wire, not \u escapes.
    assert "城市夜景".encode() in response.content


def test_create_returns_prefilter_warnings(api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        response = api.post(URL, {"model": catalog.ALL, "prompt": "Pikachu surfing a wave"})
    assert response.status_code == 202
    assert response.json()["warnings"] == [{"category": "copyrighted-ip", "terms": ["Pikachu"]}]


def test_a_blocking_category_refuses_the_prompt(api, django_capture_on_commit_callbacks):
    Category.objects.filter(key="copyrighted-ip").update(action=Category.Action.BLOCK)
    matching.invalidate()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api.post(URL, {"model": catalog.ALL, "prompt": "Pikachu surfing a wave"})
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid"
    assert error["field"] == "prompt"
    assert "Pikachu" in error["message"]
    assert callbacks == []
    assert not Generation.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"prompt": ""}, "prompt", "Write a prompt"),
        ({"prompt": "   "}, "prompt", "Write a prompt"),
        ({"prompt": "x" * 32_001}, "prompt", "32,001"),
        ({"model": "dall-e-3"}, "model", "Unknown model"),
        ({"size": "1024x1024"}, "size", "not one of the 30 sizes"),
        ({"model": catalog.ALL, "size": "16:9 wide"}, "size", "8 verified phrasings"),
        ({"count": 0}, "count", "1 to 10"),
        ({"count": 11}, "count", "1 to 10"),
        ({"count": "three"}, "count", "whole number"),
        ({"fallback_2k": "yes"}, "fallback_2k", "true or false"),
        ({"n": 2}, "n", "its own call"),
        ({"n": 1}, "n", "use count"),
        ({"quality": "hd"}, "quality", "does not take quality"),
    ],
)
def test_create_validation(api, changes, field, words):
    body = {"model": catalog.VIP, "prompt": "a red bicycle", **changes}
    response = api.post(URL, body)
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid"
    assert error["field"] == field
    assert words in error["message"]
    assert error["fields"] == {field: error["message"]}
    assert not Generation.objects.exists()


def test_create_lists_every_bad_field_and_names_the_first(api):
    response = api.post(URL, {"model": "nope", "prompt": "", "count": 11, "n": 4})
    error = error_of(response)
    assert error["field"] == "n"
    assert list(error["fields"]) == ["n", "model", "prompt", "count"]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("{not json", "not valid JSON"),
        ("", "must be a JSON object"),
        ("[1, 2]", "must be a JSON object"),
        ('"a cat"', "must be a JSON object"),
        (b"\xff\xfe\xfa", "not valid JSON"),
    ],
)
def test_create_rejects_a_body_that_is_not_a_json_object(api, body, words):
    response = api.post(URL, body)
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "bad_request"
    assert words in error["message"]


def test_create_needs_authentication(client):
    response = client.post(
        URL, json.dumps({"model": catalog.ALL, "prompt": "x"}), content_type="application/json"
    )
    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"
    assert not Generation.objects.exists()


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_generations_wrong_method_is_a_json_405(api, method):
    response = getattr(api.client, method)(URL, headers=api.headers)
    assert response.status_code == 405
    assert response["Allow"] == "GET, POST"
    error = error_of(response)
    assert error["code"] == "method_not_allowed"
    assert error["allowed"] == ["GET", "POST"]


# --- GET /generations/{id} ------------------------------------------------------------------
def test_detail_has_the_documented_shape(api, owner):
    generation = make_succeeded(owner)
    ledger(generation, 1, "req-first", billed=False)
    ledger(generation, 2, "")
    ledger(generation, 3, "req-third")
    Generation.objects.filter(pk=generation.pk).update(
        attempts=3, cost_usd=Decimal("0.0600"), fell_back_to_2k=True
    )

    response = api.get(f"{URL}/{generation.pk}")

    assert response.status_code == 200
    data = response.json()
    assert list(data) == [
        "id", "batch", "status", "model", "prompt", "size", "width", "height", "image_url",
        "thumbnail_url", "attempts", "fell_back_to_2k", "route", "hops", "billed", "cost_usd",
        "usage", "quality", "background", "output_format", "upstream_request_ids", "error",
        "created_at", "started_at", "finished_at",
        "kind", "parents", "thread", "reply", "inputs", "variables", "prompt_sent", "kit",
        "starred", "boards",
    ]  # fmt: skip
    assert data["id"] == generation.pk
    assert data["batch"] == generation.batch_id
    assert data["status"] == "succeeded"
    assert (data["width"], data["height"]) == (2048, 2048)
    assert data["image_url"] == f"http://testserver{URL}/{generation.pk}/image"
    assert data["thumbnail_url"] == f"http://testserver{URL}/{generation.pk}/thumbnail"
    assert data["attempts"] == 3
    assert data["fell_back_to_2k"] is True
    assert data["billed"] is True
    assert data["cost_usd"] == "0.06"
    assert data["upstream_request_ids"] == ["req-first", "req-third"]
    assert data["error"] is None
    assert data["created_at"] == generation.created_at.isoformat()
    assert data["finished_at"].endswith("+00:00")
    # Text to image: a thread of its own, no parents, no inputs.
    assert (data["kind"], data["parents"], data["inputs"]) == ("generate", [], [])
    assert data["thread"] == generation.pk
    # One prompt, no kit, nobody's marks yet; prompt_sent is what the gateway got.
    marks = (data["variables"], data["kit"], data["starred"], data["boards"])
    assert marks == ({}, None, False, [])
    assert data["prompt_sent"] == generation.prompt_sent


def test_detail_of_a_failed_generation_has_its_error(api, owner):
    generation = make_generation(
        owner,
        status=Status.FAILED,
        error_code="timeout",
        error_params={"tries": 2, "timeout": 300},
    )
    data = api.get(f"{URL}/{generation.pk}").json()
    assert data["error"]["code"] == "timeout"
    assert "within 300 s (2 tries)" in data["error"]["message"]
    assert "Nothing was billed." in data["error"]["message"]
    assert data["image_url"] is None
    assert data["width"] is None


def test_detail_of_another_users_generation_is_404(api, other_user):
    generation = make_generation(other_user)
    response = api.get(f"{URL}/{generation.pk}")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


@pytest.mark.parametrize("pk", [999_999, 2**64])
def test_detail_of_a_missing_id_is_404(api, pk):
    response = api.get(f"{URL}/{pk}")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_staff_token_sees_everyones_generation(staff_api, owner):
    generation = make_generation(owner)
    response = staff_api.get(f"{URL}/{generation.pk}")
    assert response.status_code == 200
    assert response.json()["id"] == generation.pk


def test_detail_needs_authentication(client, owner):
    generation = make_generation(owner)
    response = client.get(f"{URL}/{generation.pk}")
    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"


def test_detail_wrong_method_is_a_json_405(api, owner):
    generation = make_generation(owner)
    response = api.post(f"{URL}/{generation.pk}", {})
    assert response.status_code == 405
    assert response["Allow"] == "GET, PATCH, DELETE"
    assert error_of(response)["code"] == "method_not_allowed"


# --- GET /generations -----------------------------------------------------------------------
def test_list_is_newest_first_and_only_the_callers(api, owner, other_user):
    older = make_generation(owner, created_at=timezone.now() - timedelta(hours=1))
    newer = make_generation(owner)
    make_generation(other_user)
    make_generation(owner, deleted_at=timezone.now())

    response = api.get(URL)

    assert response.status_code == 200
    data = response.json()
    assert [g["id"] for g in data["results"]] == [newer.pk, older.pk]
    assert data["next"] is None


def test_list_filters_by_status_and_model(api, owner):
    queued_vip = make_generation(owner)
    make_generation(owner, status=Status.FAILED)
    make_generation(owner, model=catalog.ALL)
    response = api.get(URL, {"status": "queued", "model": catalog.VIP})
    assert [g["id"] for g in response.json()["results"]] == [queued_vip.pk]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "done"}, "status"),
        ({"model": "dall-e-3"}, "model"),
        ({"cursor": "!!"}, "cursor"),
    ],
)
def test_list_rejects_bad_filters(api, params, field):
    response = api.get(URL, params)
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid"
    assert error["field"] == field


def test_list_pages_by_50_with_a_next_url_that_keeps_the_filters(api, owner):
    batch = Batch.objects.create(user=owner)
    moment = timezone.now()
    # Half share one timestamp: the keyset must break ties by id, never skip or repeat.
    Generation.objects.bulk_create(
        Generation(
            user=owner,
            batch=batch,
            model=catalog.VIP,
            prompt=f"image {i}",
            size=catalog.DEFAULT_VIP_SIZE,
            size_tier="2k",
            created_at=moment if i % 2 else moment - timedelta(seconds=i),
        )
        for i in range(120)
    )
    make_generation(owner, status=Status.FAILED)
    expected = list(Generation.objects.filter(status=Status.QUEUED).order_by("-created_at", "-id"))

    seen: list[int] = []
    url, params = URL, {"status": "queued"}
    pages = 0
    while url:
        data = api.get(url, params).json()
        params = None
        pages += 1
        assert len(data["results"]) <= 50
        seen += [g["id"] for g in data["results"]]
        url = data["next"]
        if url:
            parts = urlsplit(url)
            assert parts.netloc == "testserver"
            assert "status=queued" in parts.query
    assert pages == 3
    assert seen == [g.pk for g in expected]


def test_list_uses_a_constant_number_of_queries(api, owner, django_assert_num_queries):
    def add_rows(n: int) -> None:
        for _ in range(n):
            generation = make_succeeded(owner)
            ledger(generation, 1, "req-a")
            ledger(generation, 2, "req-b")

    add_rows(2)
    # Token (with its user), the page (the caller's stars ride on it as an EXISTS), and the
    # boards the caller can see them on: request ids ride on the rows, no ledger query.
    with django_assert_num_queries(3):
        small = api.get(URL)
    add_rows(8)
    with django_assert_num_queries(3):
        large = api.get(URL)
    assert len(small.json()["results"]) == 2
    results = large.json()["results"]
    assert len(results) == 10
    assert all(g["upstream_request_ids"] == ["req-a", "req-b"] for g in results)


def test_staff_token_lists_everyone(staff_api, owner, other_user):
    mine, theirs = make_generation(owner), make_generation(other_user)
    ids = {g["id"] for g in staff_api.get(URL).json()["results"]}
    assert ids == {mine.pk, theirs.pk}


def test_list_needs_authentication(client):
    response = client.get(URL)
    assert response.status_code == 401


# --- DELETE /generations/{id} ---------------------------------------------------------------
def test_delete_of_a_queued_generation_cancels_it(api, owner):
    generation = make_generation(owner)
    response = api.delete(f"{URL}/{generation.pk}")
    assert response.status_code == 204
    generation.refresh_from_db()
    assert generation.status == Status.CANCELED
    # Still there, as canceled, so the client can see what happened to it.
    assert api.get(f"{URL}/{generation.pk}").json()["status"] == "canceled"


def test_delete_of_a_finished_generation_removes_its_files_and_hides_it(api, owner):
    generation = make_succeeded(owner)
    names = [generation.image.name, generation.thumbnail.name]
    assert all(default_storage.exists(n) for n in names)

    response = api.delete(f"{URL}/{generation.pk}")

    assert response.status_code == 204
    assert not any(default_storage.exists(n) for n in names)
    assert api.get(f"{URL}/{generation.pk}").status_code == 404
    assert api.get(URL).json()["results"] == []
    # The row stays for the ledger, hidden.
    assert Generation.objects.get(pk=generation.pk).deleted_at is not None


def test_delete_of_a_running_generation_hides_it_and_the_call_goes_on(api, owner):
    generation = make_generation(owner, status=Status.RUNNING)
    response = api.delete(f"{URL}/{generation.pk}")
    assert response.status_code == 204
    generation.refresh_from_db()
    # Still running at the gateway (billed whatever happens), but gone from the caller's view;
    # the worker drops the files when it finishes (tests/test_tasks.py).
    assert generation.status == Status.RUNNING
    assert generation.deleted_at is not None
    assert api.get(f"{URL}/{generation.pk}").status_code == 404


def test_delete_of_another_users_generation_is_404(api, other_user):
    generation = make_succeeded(other_user)
    response = api.delete(f"{URL}/{generation.pk}")
    assert response.status_code == 404
    generation.refresh_from_db()
    assert generation.deleted_at is None
    assert default_storage.exists(generation.image.name)


def test_delete_needs_authentication(client, owner):
    generation = make_generation(owner)
    assert client.delete(f"{URL}/{generation.pk}").status_code == 401
    generation.refresh_from_db()
    assert generation.status == Status.QUEUED


# --- GET /generations/{id}/image and /thumbnail ---------------------------------------------
@pytest.mark.parametrize(
    ("kind", "body", "content_type"),
    [
        ("image", b"\x89PNG original bytes", "image/png"),
        ("thumbnail", b"RIFF thumbnail bytes", "image/webp"),
    ],
)
def test_file_endpoints_serve_the_stored_bytes_to_the_owner(api, owner, kind, body, content_type):
    generation = make_succeeded(owner)
    response = api.get(f"{URL}/{generation.pk}/{kind}")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == body
    assert response["Content-Type"] == content_type
    assert "private" in response["Cache-Control"]


def test_file_endpoint_works_with_the_browser_session(owner_client, owner):
    generation = make_succeeded(owner)
    response = owner_client.get(f"{URL}/{generation.pk}/image")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"\x89PNG original bytes"


@pytest.mark.parametrize("kind", ["image", "thumbnail"])
def test_file_endpoints_are_404_for_another_user(other_api, owner, kind):
    generation = make_succeeded(owner)
    response = other_api.get(f"{URL}/{generation.pk}/{kind}")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_file_endpoint_serves_staff(staff_api, owner):
    generation = make_succeeded(owner)
    assert staff_api.get(f"{URL}/{generation.pk}/image").status_code == 200


def test_file_endpoint_is_404_until_succeeded(api, owner):
    generation = make_generation(owner)
    response = api.get(f"{URL}/{generation.pk}/image")
    assert response.status_code == 404
    assert "queued" in error_of(response)["message"]


def test_file_endpoint_is_404_when_the_file_is_gone(api, owner):
    generation = make_succeeded(owner)
    default_storage.delete(generation.image.name)
    response = api.get(f"{URL}/{generation.pk}/image")
    assert response.status_code == 404
    assert "missing" in error_of(response)["message"]


def test_file_endpoint_redirects_to_a_signed_url_with_s3(api, owner, settings):
    generation = make_succeeded(owner)
    settings.S3_BUCKET = "studio-bucket"
    response = api.get(f"{URL}/{generation.pk}/thumbnail")
    assert response.status_code == 302
    assert response["Location"] == default_storage.url(generation.thumbnail.name)


def test_file_endpoint_needs_authentication(client, owner):
    generation = make_succeeded(owner)
    assert client.get(f"{URL}/{generation.pk}/image").status_code == 401


def test_one_generation_with_star_and_boards_is_two_queries(api, owner, django_assert_num_queries):
    generation = make_finished(owner)
    make_star(owner, generation)
    first = make_board(owner, "First", items=[generation])
    second = make_board(owner, "Second", items=[generation])
    # The token (with its user), and the row with the caller's star and boards on it.
    with django_assert_num_queries(2):
        data = api.get(f"{URL}/{generation.pk}").json()
    assert data["starred"] is True
    assert data["boards"] == sorted([first.pk, second.pk])


def test_one_generation_without_marks_says_so(api, owner):
    data = api.get(f"{URL}/{make_finished(owner).pk}").json()
    assert (data["starred"], data["boards"]) == (False, [])


def test_file_endpoint_wrong_method_is_a_json_405(api, owner):
    generation = make_succeeded(owner)
    response = api.delete(f"{URL}/{generation.pk}/image")
    assert response.status_code == 405
    assert response["Allow"] == "GET"
    assert default_storage.exists(generation.image.name)


def test_a_generation_says_its_callers_star_and_the_boards_they_can_see(api, owner, other_user):
    generation = make_finished(owner)
    make_star(owner, generation)
    mine = make_board(owner, "Mine", items=[generation])
    make_board(other_user, "Theirs", items=[generation])  # not the caller's to see

    listed = api.get(URL).json()["results"][0]
    detail = api.get(f"{URL}/{generation.pk}").json()

    for data in (listed, detail):
        assert data["starred"] is True
        assert data["boards"] == [mine.pk]
