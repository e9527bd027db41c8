from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.urls import reverse

from imagestudio.audit.trail import Via, acting


def via_for(path: str) -> str:
    if path.startswith(reverse("admin:index")):
        return Via.ADMIN
    if path.startswith(reverse("api:index")):
        return Via.API
    return Via.WEB


class AuditMiddleware:
    """Holds the request for the audit log while it is handled: a change anywhere below is
    recorded as this request's user's, with the channel its path says and its address."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        with acting(via=via_for(request.path), request=request):
            return self.get_response(request)
