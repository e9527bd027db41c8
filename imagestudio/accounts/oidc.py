"""Company sign-in through the company's OpenID Connect provider (mozilla-django-oidc).

The provider's endpoints come from its discovery document (`<issuer>/.well-known/
openid-configuration`), fetched when a sign-in first needs them, with a timeout, and kept
for an hour: a provider that is down never keeps the studio from starting, and costs each
sign-in attempt at most the timeout, answered with a page that says so.

Who may sign in, and into which teams, is the directory's word at every sign-in: the
groups claim (IMAGESTUDIO_OIDC_GROUPS_CLAIM) is applied again each time (directory.apply)."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any
from urllib.parse import urlencode

import httpx
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from imagestudio.accounts import directory

log = logging.getLogger(__name__)

DISCOVERY_TTL = 3600.0
# A provider that did not answer is asked again after this long, not on every click.
FAILURE_TTL = 10.0
REQUIRED = ("authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint")


class ProviderUnavailable(Exception):
    """The provider did not answer, or its discovery document is not usable."""


def configured() -> bool:
    return bool(settings.OIDC_ISSUER)


def provider_name() -> str:
    return settings.OIDC_NAME


_lock = threading.Lock()
_cache: dict[str, tuple[float, dict[str, Any] | ProviderUnavailable]] = {}


def forget_discovery() -> None:
    """Drop the kept document (the tests start providers on new ports)."""
    with _lock:
        _cache.clear()


def discovery() -> dict[str, Any]:
    """The provider's discovery document, checked; raises ProviderUnavailable."""
    issuer = settings.OIDC_ISSUER
    now = time.monotonic()
    with _lock:
        kept = _cache.get(issuer)
    if kept is not None and kept[0] > now:
        if isinstance(kept[1], ProviderUnavailable):
            raise kept[1]
        return kept[1]
    try:
        document = _fetch(issuer)
    except ProviderUnavailable as exc:
        with _lock:
            _cache[issuer] = (now + FAILURE_TTL, exc)
        raise
    with _lock:
        _cache[issuer] = (now + DISCOVERY_TTL, document)
    return document


def _fetch(issuer: str) -> dict[str, Any]:
    url = f"{issuer}/.well-known/openid-configuration"
    try:
        response = httpx.get(url, timeout=settings.OIDC_TIMEOUT, follow_redirects=False)
        response.raise_for_status()
        document = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        log.warning("OpenID provider discovery at %s failed: %s", url, type(exc).__name__)
        raise ProviderUnavailable(f"discovery failed: {type(exc).__name__}") from exc
    if not isinstance(document, dict):
        raise ProviderUnavailable("discovery document is not a JSON object")
    # OpenID Connect Discovery 1.0 §4.3: the document must name the issuer it was asked
    # for, or its tokens would be taken for another's.
    if str(document.get("issuer", "")).rstrip("/") != issuer:
        log.warning("OpenID provider at %s names another issuer", url)
        raise ProviderUnavailable("discovery document names another issuer")
    missing = [key for key in REQUIRED if not isinstance(document.get(key), str)]
    if missing:
        log.warning("OpenID provider at %s lacks %s", url, ", ".join(missing))
        raise ProviderUnavailable(f"discovery document lacks {', '.join(missing)}")
    return document


def authorization_endpoint() -> str:
    return str(discovery()["authorization_endpoint"])


def end_session_url(request: HttpRequest, id_token: str, after: str) -> str | None:
    """Where the browser ends its session at the provider too (RP-Initiated Logout), or
    None when the provider offers no end_session_endpoint or cannot be reached."""
    try:
        endpoint = discovery().get("end_session_endpoint")
    except ProviderUnavailable:
        return None
    if not isinstance(endpoint, str) or not endpoint:
        return None
    query = {
        "client_id": settings.OIDC_RP_CLIENT_ID,
        "post_logout_redirect_uri": request.build_absolute_uri(after),
    }
    if id_token:
        query["id_token_hint"] = id_token
    return f"{endpoint}?{urlencode(query)}"


class DirectoryBackend(OIDCAuthenticationBackend):
    """mozilla-django-oidc's code flow, with the endpoints from discovery, the id token's
    issuer and audience checked, people found by their provider identity (not by e-mail
    alone), and the directory's groups applied at every sign-in.

    Only the sign-in callback calls it (with a nonce); a password sign-in passes through."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Built on every request that reads the session's user: no settings checks and no
        # discovery here.
        self.UserModel = get_user_model()
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        self.OIDC_RP_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET
        self.OIDC_RP_SIGN_ALGO = settings.OIDC_RP_SIGN_ALGO
        self.OIDC_RP_IDP_SIGN_KEY = None

    def authenticate(self, request: Any, **kwargs: Any) -> Any:
        if request is None or "nonce" not in kwargs:
            return None
        document = discovery()
        self.OIDC_OP_TOKEN_ENDPOINT = document["token_endpoint"]
        self.OIDC_OP_USER_ENDPOINT = document["userinfo_endpoint"]
        self.OIDC_OP_JWKS_ENDPOINT = document["jwks_uri"]
        return super().authenticate(request, **kwargs)

    def get_token(self, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            return super().get_token(payload)
        except requests.HTTPError as exc:
            # The provider's answer says why, in a body that is never shown or logged (it
            # may echo what was sent).
            status = exc.response.status_code if exc.response is not None else None
            if status == 401:
                # invalid_client (RFC 6749 §5.2): the studio's own credentials are wrong.
                log.warning("OpenID provider refused the client id or secret (HTTP 401)")
                raise ProviderUnavailable("the provider refused the client credentials") from exc
            # An expired, used or foreign code.
            log.warning("OpenID provider refused the authorization code (HTTP %s)", status)
            raise SuspiciousOperation("the provider refused the authorization code") from exc

    def verify_token(self, token: str, **kwargs: Any) -> dict[str, Any]:
        payload: dict[str, Any] = super().verify_token(token, **kwargs)
        if "nonce" in kwargs:
            audience = payload.get("aud")
            audiences = audience if isinstance(audience, list) else [audience]
            if str(payload.get("iss", "")).rstrip("/") != settings.OIDC_ISSUER:
                raise SuspiciousOperation("the id token names another issuer")
            if settings.OIDC_RP_CLIENT_ID not in audiences:
                raise SuspiciousOperation("the id token is for another client")
            self._subject = str(payload.get("sub", ""))
        return payload

    def verify_claims(self, claims: dict[str, Any]) -> bool:
        # The userinfo must be about the person the id token names (OIDC Core §5.3.2).
        return bool(claims.get("sub")) and str(claims["sub"]) == self._subject

    def get_or_create_user(self, access_token: str, id_token: str, payload: dict[str, Any]) -> Any:
        claims = self.get_userinfo(access_token, id_token, payload)
        if not self.verify_claims(claims):
            raise SuspiciousOperation("the userinfo is about someone else")
        return directory.sign_in(settings.OIDC_ISSUER, claims)

    def get_user(self, user_id: int) -> Any:
        # A deactivated person's open sessions end at their next request.
        user = self.UserModel.objects.filter(pk=user_id).first()
        return user if user is not None and user.is_active else None
