"""Repeated submits cost once: the same Idempotency-Key from the same user within 24 h
gets the first answer (the same ids) and starts no second job; another body under a used
key is a 409; a refused submit keeps nothing; the key is each user's own."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from imagestudio import catalog
from imagestudio.api.models import IdempotentRequest
from imagestudio.studio.models import Generation
from tests.factories import bearer, make_finished, make_token, picture_bytes

pytestmark = pytest.mark.django_db
BODY = {"model": catalog.VIP, "prompt": "a red kite", "count": 2}


def client_of(user) -> Client:
    _token, raw = make_token(user)
    return Client(headers=bearer(raw))


def post(client: Client, body: dict, key: str | None = "k-1", path: str = "/generations"):
    headers = {"Idempotency-Key": key} if key is not None else {}
    return client.post(
        f"/api/v1{path}", json.dumps(body), content_type="application/json", headers=headers
    )


def test_the_same_key_and_body_get_the_first_answer_and_no_second_job(owner):
    api = client_of(owner)

    first = post(api, BODY)
    again = post(api, BODY)

    assert first.status_code == again.status_code == 202
    assert again.json()["batch"] == first.json()["batch"]
    ids = [g["id"] for g in first.json()["generations"]]
    assert [g["id"] for g in again.json()["generations"]] == ids
    assert Generation.objects.count() == 2


def test_another_body_under_a_used_key_is_a_409(owner):
    api = client_of(owner)
    post(api, BODY)

    answer = post(api, {**BODY, "prompt": "a blue kite"})

    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "idempotency_key_reused"
    assert Generation.objects.count() == 2


def test_without_a_key_every_submit_is_new_and_keys_are_each_users_own(owner, other_user):
    api = client_of(owner)
    post(api, BODY, key=None)
    post(api, BODY, key=None)
    post(client_of(other_user), BODY)
    post(api, BODY)

    assert Generation.objects.count() == 8


def test_a_refused_submit_keeps_nothing_and_an_old_key_is_new_again(owner):
    api = client_of(owner)
    assert post(api, {**BODY, "model": "nope"}).status_code == 400
    assert not IdempotentRequest.objects.exists()

    assert post(api, BODY).status_code == 202
    IdempotentRequest.objects.update(
        created_at=IdempotentRequest.objects.get().created_at - timedelta(hours=25)
    )
    assert post(api, BODY).status_code == 202
    assert Generation.objects.count() == 4


def test_a_key_past_200_characters_is_a_400(owner):
    assert post(client_of(owner), BODY, key="k" * 201).status_code == 400


def test_an_edit_and_a_turn_honour_the_key_too(owner):
    api = client_of(owner)

    def edit():
        upload = SimpleUploadedFile("a.png", picture_bytes(fmt="PNG"), "image/png")
        return api.post(
            "/api/v1/edits",
            {"model": catalog.VIP, "prompt": "make it blue", "image1": upload},
            headers={"Idempotency-Key": "edit-1"},
        )

    assert edit().json()["batch"] == edit().json()["batch"]
    parent = make_finished(owner)
    turn = {"prompt": "now at night"}
    path = f"/generations/{parent.pk}/iterate"
    first = post(api, turn, key="turn-1", path=path)
    assert post(api, turn, key="turn-1", path=path).json() == first.json()
    assert Generation.objects.filter(parent=parent).count() == 1
