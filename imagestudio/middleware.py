from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.middleware import LoginRequiredMiddleware as _LoginRequired
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django_htmx.http import HttpResponseClientRedirect

from imagestudio.studio import changes


class LoginRequiredMiddleware(_LoginRequired):
    """Login required everywhere; for htmx requests, send the whole page to sign-in.

    A plain 302 would be followed by htmx itself: an expired session would then swap the
    login page into a tile, every 2 s, instead of showing it."""

    def handle_no_permission(self, request, view_func):
        response = super().handle_no_permission(request, view_func)
        if getattr(request, "htmx", False):
            return HttpResponseClientRedirect(response.url)
        return response


class UnchangedPollMiddleware:
    """Answers a poll of something unchanged (imagestudio.studio.changes) before sessions,
    language, CSRF, sign-in, audit or the view run, from one cache read: a page's poll whose
    token still holds is an empty 204; an API GET whose If-None-Match is a still-current
    ETag is a 304. Anything it cannot vouch for goes on down the stack unchanged."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        self.cookie = settings.SESSION_COOKIE_NAME

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if request.method == "GET":
            if f"{changes.PARAM}=" in request.META.get("QUERY_STRING", "") and self._poll(request):
                return HttpResponse(status=204)
            etag = request.META.get("HTTP_IF_NONE_MATCH", "")
            if etag and self._api(request, etag):
                return HttpResponse(status=304, headers={"ETag": etag})
        return self.get_response(request)

    def _session_key(self, request: HttpRequest) -> str:
        key = request.COOKIES.get(self.cookie, "")
        return key if key.isalnum() and 8 <= len(key) <= 64 else ""

    def _poll(self, request: HttpRequest) -> bool:
        signed = request.GET.get(changes.PARAM, "")
        ids = request.GET.getlist("ids")
        session_key = self._session_key(request)
        if not (signed and ids and session_key):
            return False
        return changes.unchanged(request.path, signed, ids, session_key=session_key)

    def _api(self, request: HttpRequest, etag: str) -> bool:
        signed = changes.from_etag(etag)
        if not signed:
            return False
        header = request.META.get("HTTP_AUTHORIZATION")
        if header is None:
            session_key = self._session_key(request)
            return bool(session_key) and changes.unchanged(
                request.path, signed, [], session_key=session_key
            )
        from imagestudio.api.auth import token_throttle
        from imagestudio.api.models import hash_token
        from imagestudio.web.throttle import client_address

        scheme, _, raw = header.partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            return False
        return changes.unchanged(
            request.path,
            signed,
            [],
            bearer_hash=hash_token(raw.strip()),
            blocked_key=token_throttle().blocked_key(client_address(request)),
        )
