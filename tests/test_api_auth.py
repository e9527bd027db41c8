"""Who may call the API: bearer tokens, browser sessions (with CSRF), and nobody else."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from imagestudio import catalog
from imagestudio.api.auth import TOUCH_INTERVAL
from imagestudio.api.models import ApiToken
from imagestudio.studio.models import Generation
from tests.factories import bearer, make_generation, make_token

pytestmark = pytest.mark.django_db

URL = "/api/v1/generations"
BODY = json.dumps({"model": catalog.ALL, "prompt": "a quiet harbour"})


@pytest.fixture
def issued(owner) -> tuple[ApiToken, str]:
    return make_token(owner, name="tests")


def assert_unauthorized(response) -> str:
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response["WWW-Authenticate"].startswith("Bearer")
    error = response.json()["error"]
    assert error["code"] == "unauthorized"
    return error["message"]


def test_no_credentials_is_a_json_401_not_the_login_redirect(client):
    message = assert_unauthorized(client.get(URL))
    assert "Authorization: Bearer" in message


@pytest.mark.parametrize(
    "header",
    ["Bearer ist_not-a-real-token", "Bearer ", "Token abc", "Basic dXNlcjpwYXNz", "Bearer"],
)
def test_bad_authorization_headers_are_401(client, issued, header):
    assert_unauthorized(client.get(URL, headers={"Authorization": header}))


def test_a_valid_token_authenticates_and_is_looked_up_by_hash(client, issued):
    token, raw = issued
    assert token.token_hash != raw and raw not in token.token_hash
    response = client.get(URL, headers=bearer(raw))
    assert response.status_code == 200
    assert response.json() == {"results": [], "next": None}


def test_the_scheme_is_case_insensitive(client, issued):
    _, raw = issued
    assert client.get(URL, headers={"Authorization": f"bearer {raw}"}).status_code == 200


def test_a_token_of_an_inactive_user_is_refused(client, issued, owner):
    owner.is_active = False
    owner.save()
    assert_unauthorized(client.get(URL, headers=bearer(issued[1])))


def test_a_deleted_token_is_refused(client, issued):
    token, raw = issued
    token.delete()
    assert_unauthorized(client.get(URL, headers=bearer(raw)))


def test_a_bad_token_never_falls_back_to_the_session(owner_client):
    assert owner_client.get(URL).status_code == 200
    assert_unauthorized(owner_client.get(URL, headers=bearer("ist_wrong")))


def test_last_used_at_is_written_at_most_once_a_minute(client, issued, django_assert_num_queries):
    token, raw = issued
    assert token.last_used_at is None
    # Token lookup, the write, the page.
    with django_assert_num_queries(3):
        client.get(URL, headers=bearer(raw))
    token.refresh_from_db()
    first = token.last_used_at
    assert first is not None

    with django_assert_num_queries(2):
        client.get(URL, headers=bearer(raw))
    token.refresh_from_db()
    assert token.last_used_at == first

    stale = timezone.now() - TOUCH_INTERVAL - timedelta(seconds=1)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=stale)
    client.get(URL, headers=bearer(raw))
    token.refresh_from_db()
    assert token.last_used_at > stale + TOUCH_INTERVAL


def test_the_session_works_for_reads(owner_client):
    response = owner_client.get(URL)
    assert response.status_code == 200


def test_a_session_post_needs_the_csrf_token(owner, django_capture_on_commit_callbacks):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(owner)
    response = browser.post(URL, BODY, content_type="application/json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "csrf_failed"
    assert not Generation.objects.exists()

    secret = "a" * 32
    browser.cookies["csrftoken"] = secret
    with django_capture_on_commit_callbacks(execute=False):
        response = browser.post(
            URL, BODY, content_type="application/json", headers={"X-CSRFToken": secret}
        )
    assert response.status_code == 202


def test_a_session_delete_needs_the_csrf_token(owner):
    generation = make_generation(owner, model=catalog.ALL)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(owner)
    response = browser.delete(f"{URL}/{generation.pk}")
    assert response.status_code == 403
    generation.refresh_from_db()
    assert generation.status == "queued"


def test_token_requests_are_exempt_from_csrf(issued, django_capture_on_commit_callbacks):
    script = Client(enforce_csrf_checks=True)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = script.post(
            URL, BODY, content_type="application/json", headers=bearer(issued[1])
        )
    assert response.status_code == 202
    assert len(callbacks) == 1


def test_the_method_is_checked_before_authentication(client):
    response = client.put(URL)
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_the_index_and_the_document_are_public(client):
    index = client.get("/api/v1/")
    assert index.status_code == 200
    assert index.json()["openapi"] == "http://testserver/api/v1/openapi.json"
    assert client.get("/api/v1/openapi.json").status_code == 200


@pytest.mark.parametrize("path", ["/api/v1/nothing-here", "/api/v1/generations/", "/api/v1/x/y"])
def test_unknown_api_paths_are_a_json_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
