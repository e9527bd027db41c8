from __future__ import annotations

from django.contrib.auth.middleware import LoginRequiredMiddleware as _LoginRequired
from django_htmx.http import HttpResponseClientRedirect


class LoginRequiredMiddleware(_LoginRequired):
    """Login required everywhere; for htmx requests, send the whole page to sign-in.

    A plain 302 would be followed by htmx itself: an expired session would then swap the
    login page into a tile, every 2 s, instead of showing it."""

    def handle_no_permission(self, request, view_func):
        response = super().handle_no_permission(request, view_func)
        if getattr(request, "htmx", False):
            return HttpResponseClientRedirect(response.url)
        return response
