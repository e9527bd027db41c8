"""Sign-in lockout per user name (django-axes) and the API's throttle on unknown tokens."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.test import Client

from tests.factories import PASSWORD, bearer, make_token

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
API = "/api/v1/generations"


def sign_in(client: Client, username: str, password: str, address: str = "10.0.0.1", **extra):
    return client.post(
        LOGIN, {"username": username, "password": password, **extra}, REMOTE_ADDR=address
    )


def fail(client: Client, username: str, times: int, address: str = "10.0.0.1") -> None:
    for n in range(times):
        response = sign_in(client, username, "wrong password", address)
        # The form again with its error; the failure that reaches the limit is the lock.
        assert response.status_code == (429 if n + 1 >= 5 else 200)


def test_four_failures_leave_the_right_password_working(client, owner):
    fail(client, "owner", 4)
    response = sign_in(client, "owner", PASSWORD)
    assert response.status_code == 302


def test_five_failures_lock_the_user_name_even_for_the_right_password(client, owner):
    fail(client, "owner", 5)
    response = sign_in(client, "owner", PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    page = response.content.decode()
    assert "locked for 15 minutes" in page
    assert 'class="topbar"' in page  # the studio's layout, not a bare message
    assert 'name="password"' in page
    assert response["Retry-After"] == str(15 * 60)


def test_the_lock_counts_failures_from_any_address(client, owner):
    for n in range(5):
        sign_in(client, "owner", "wrong", address=f"10.0.0.{n + 1}")
    assert sign_in(client, "owner", PASSWORD, address="192.0.2.9").status_code == 429


def test_one_locked_name_does_not_lock_another(client, owner, teammate):
    fail(client, "owner", 5)
    assert sign_in(client, "mate", PASSWORD).status_code == 302


def test_a_successful_sign_in_resets_the_count(client, owner):
    fail(client, "owner", 4)
    assert sign_in(client, "owner", PASSWORD).status_code == 302
    client.logout()
    fail(client, "owner", 4)
    assert sign_in(client, "owner", PASSWORD).status_code == 302


def test_the_lock_ends_after_the_cool_off(client, owner):
    from datetime import timedelta

    from django.utils import timezone

    fail(client, "owner", 5)
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert sign_in(client, "owner", PASSWORD).status_code == 302


def test_the_numbers_come_from_settings(client, owner, settings):
    settings.AXES_FAILURE_LIMIT = 2
    assert sign_in(client, "owner", "wrong").status_code == 200
    assert sign_in(client, "owner", "wrong").status_code == 429
    assert sign_in(client, "owner", PASSWORD).status_code == 429


def test_staff_unlock_a_user_name_in_the_admin(client, owner, admin_client_):
    fail(client, "owner", 5)
    attempt = AccessAttempt.objects.get(username="owner")
    changelist = admin_client_.get("/admin/axes/accessattempt/")
    assert changelist.status_code == 200 and "owner" in changelist.content.decode()
    response = admin_client_.post(
        f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"}
    )
    assert response.status_code == 302
    assert sign_in(Client(), "owner", PASSWORD).status_code == 302


def test_a_locked_page_keeps_only_a_local_next(client, owner):
    fail(client, "owner", 5)
    response = sign_in(client, "owner", PASSWORD, next="https://evil.example/")
    assert "evil.example" not in response.content.decode()
    response = sign_in(client, "owner", PASSWORD, next="/gallery/")
    assert 'value="/gallery/"' in response.content.decode()


def test_force_login_is_never_locked(owner_client, owner):
    fail(Client(), "owner", 5)
    assert owner_client.get("/").status_code == 200


# -- API tokens ----------------------------------------------------------------------------


def wrong_token(client: Client, address: str = "10.1.1.1"):
    return client.get(API, headers=bearer("ist_wrong"), REMOTE_ADDR=address)


def test_wrong_tokens_stay_401_until_the_limit(client, owner):
    for _ in range(5):
        assert wrong_token(client).status_code == 401


def test_a_flood_of_wrong_tokens_gets_429_with_retry_after(client, owner):
    for _ in range(5):
        wrong_token(client)
    response = wrong_token(client)
    assert response.status_code == 429
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "too_many_requests"
    assert 0 < int(response["Retry-After"]) <= 15 * 60


def test_a_blocked_address_is_refused_even_with_a_right_token(client, owner):
    _, raw = make_token(owner)
    for _ in range(5):
        wrong_token(client)
    assert client.get(API, headers=bearer(raw), REMOTE_ADDR="10.1.1.1").status_code == 429


def test_the_block_is_per_address(client, owner):
    _, raw = make_token(owner)
    for _ in range(5):
        wrong_token(client)
    assert client.get(API, headers=bearer(raw), REMOTE_ADDR="10.1.1.2").status_code == 200
    assert wrong_token(client, "10.1.1.2").status_code == 401


def test_right_tokens_are_never_counted(client, owner):
    _, raw = make_token(owner)
    for _ in range(20):
        assert client.get(API, headers=bearer(raw), REMOTE_ADDR="10.1.1.3").status_code == 200


def test_behind_a_proxy_the_block_is_per_forwarded_address(client, owner, settings):
    settings.PROXY_COUNT = 1
    _, raw = make_token(owner)
    for _ in range(5):
        client.get(
            API,
            headers={**bearer("ist_wrong"), "X-Forwarded-For": "6.6.6.6, 10.1.1.1"},
            REMOTE_ADDR="127.0.0.1",
        )
    blocked = client.get(
        API, headers={**bearer(raw), "X-Forwarded-For": "10.1.1.1"}, REMOTE_ADDR="127.0.0.1"
    )
    assert blocked.status_code == 429
    other = client.get(
        API, headers={**bearer(raw), "X-Forwarded-For": "10.1.1.2"}, REMOTE_ADDR="127.0.0.1"
    )
    assert other.status_code == 200


@pytest.fixture(autouse=True)
def _fresh_addresses():
    from imagestudio.api.auth import token_throttle

    for n in range(1, 4):
        token_throttle().reset(f"10.1.1.{n}")
    yield
