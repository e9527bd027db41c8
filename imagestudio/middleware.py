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
    """An empty 204 for a poll whose page is still up to date (imagestudio.studio.changes),
    before sessions, language, CSRF, sign-in, audit or the view run: one cache read.
    Anything it cannot vouch for goes on down the stack unchanged."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        self.cookie = settings.SESSION_COOKIE_NAME

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if (
            request.method == "GET"
            and f"{changes.PARAM}=" in request.META.get("QUERY_STRING", "")
            and self._unchanged(request)
        ):
            return HttpResponse(status=204)
        return self.get_response(request)

    def _unchanged(self, request: HttpRequest) -> bool:
        token = request.GET.get(changes.PARAM, "")
        ids = request.GET.getlist("ids")
        session_key = request.COOKIES.get(self.cookie, "")
        if not (token and ids and session_key.isalnum() and 8 <= len(session_key) <= 64):
            return False
        return changes.unchanged(request.path, token, ids, session_key)
