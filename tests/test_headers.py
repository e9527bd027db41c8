"""Security headers and cookies on a studio page, the API and the sign-in page; HTTPS mode;
`?next=` after sign-in stays on this site."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.test import Client

from tests.factories import PASSWORD, bearer, make_token

from .conftest import ROOT

pytestmark = pytest.mark.django_db

THIRD_PARTY = ("http://", "https://", "*")


@pytest.fixture
def answers(owner, owner_client):
    """One answer of each kind: a studio page, the API (token), the sign-in page, a 404."""
    _, raw = make_token(owner)
    return {
        "page": owner_client.get("/"),
        "api": Client().get("/api/v1/generations", headers=bearer(raw)),
        "login": Client().get("/accounts/login/"),
        "api 401": Client().get("/api/v1/generations"),
        "not found": owner_client.get("/no-such-page/"),
    }


KINDS = ["page", "api", "login", "api 401", "not found"]


@pytest.mark.parametrize("kind", KINDS)
def test_every_answer_has_a_strict_content_security_policy(answers, kind):
    policy = answers[kind]["Content-Security-Policy"]
    directives = dict(
        (part.split()[0], part.split()[1:]) for part in policy.split(";") if part.strip()
    )
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    for sources in directives.values():
        assert not any(source.startswith(THIRD_PARTY) for source in sources), policy


@pytest.mark.parametrize("kind", KINDS)
def test_every_answer_refuses_framing(answers, kind):
    assert answers[kind]["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("kind", KINDS)
def test_every_answer_forbids_sniffing(answers, kind):
    assert answers[kind]["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("kind", KINDS)
def test_every_answer_sends_the_referrer_to_this_site_only(answers, kind):
    assert answers[kind]["Referrer-Policy"] == "same-origin"


def test_no_hsts_over_plain_http_by_default(answers):
    assert "Strict-Transport-Security" not in answers["page"]


def test_the_session_cookie_is_http_only_and_same_site_lax(client, owner):
    response = client.post("/accounts/login/", {"username": "owner", "password": PASSWORD})
    cookie = response.cookies["sessionid"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert not cookie["secure"]  # plain HTTP unless IMAGESTUDIO_HTTPS=1


def test_the_csrf_cookie_is_same_site_lax_and_not_for_scripts(client):
    response = client.get("/accounts/login/")
    cookie = response.cookies["csrftoken"]
    assert cookie["samesite"] == "Lax"
    assert cookie["httponly"] is True


PRINT = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, "
    "s.SECURE_PROXY_SSL_HEADER, s.SECURE_SSL_REDIRECT)"
)


def settings_with(tmp_path, **extra) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMAGESTUDIO_")}
    env.update(IMAGESTUDIO_DATA_DIR=str(tmp_path), **extra)
    result = subprocess.run(
        [sys.executable, "-c", PRINT], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_https_mode_turns_on_secure_cookies_hsts_and_the_proxy_header(tmp_path):
    assert settings_with(tmp_path) == "False False 0 None False"
    assert settings_with(tmp_path, IMAGESTUDIO_HTTPS="1") == (
        "True True 31536000 ('HTTP_X_FORWARDED_PROTO', 'https') True"
    )


def test_behind_the_proxy_a_page_carries_hsts_and_secure_cookies(client, owner, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_HSTS_SECONDS = 31_536_000
    settings.SESSION_COOKIE_SECURE = True
    response = client.post(
        "/accounts/login/",
        {"username": "owner", "password": PASSWORD},
        headers={"X-Forwarded-Proto": "https"},
    )
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")
    assert response.cookies["sessionid"]["secure"] is True


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "http:evil.example",
        "https:/evil.example",
        "\x00//evil.example",
        " //evil.example",
        "javascript:alert(1)",
    ],
)
def test_next_after_sign_in_never_leaves_the_site(client, owner, target):
    response = client.post(
        "/accounts/login/", {"username": "owner", "password": PASSWORD, "next": target}
    )
    if "\x00" in target:
        # A NUL in any form field is refused before sign-in (no text field can store it).
        assert response.status_code == 400
        assert not response.has_header("Location")
        return
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_next_after_sign_in_goes_to_a_page_of_this_site(client, owner):
    response = client.post(
        "/accounts/login/", {"username": "owner", "password": PASSWORD, "next": "/gallery/"}
    )
    assert response["Location"] == "/gallery/"
