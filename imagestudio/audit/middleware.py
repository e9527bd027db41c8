from __future__ import annotations

import functools
from collections.abc import Callable

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.urls import reverse

from imagestudio.audit.trail import Via, acting


@functools.cache
def _prefixes() -> tuple[str, str]:
    # Reversed once per process: two reverse() calls cost more than the rest of this
    # middleware on every request (measured with cProfile on the status poll).
    return reverse("admin:index"), reverse("api:index")


def via_for(path: str) -> str:
    admin, api = _prefixes()
    if path.startswith(admin):
        return Via.ADMIN
    if path.startswith(api):
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
