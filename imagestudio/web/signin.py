"""Sign-in lockout (django-axes): the page a locked user name gets, in the studio's layout.

Axes counts failed sign-ins per user name (AXES_LOCKOUT_PARAMETERS in settings) and, once
the limit is reached, refuses that name for AXES_COOLOFF_TIME before its password is even
hashed, so a guessing script neither gets in nor holds the cores."""

from __future__ import annotations

import math
from typing import Any

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme

from imagestudio.web import messages


class LockoutBackend(AxesStandaloneBackend):
    """Axes' lockout check for every authentication that comes with a request.

    Without a request there is nobody to lock out and no address to count: the test
    client's login() and the shell authenticate that way; the sign-in page, the admin's
    and the password forms always pass their request."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> None:
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)


def cooloff_minutes() -> int:
    return max(1, math.ceil(settings.AXES_COOLOFF_TIME.total_seconds() / 60))


def locked_out(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: the sign-in page again, with the lock in words (429)."""
    username = (credentials or {}).get("username") or ""
    form = AuthenticationForm(request, initial={"username": username})
    next_url = request.POST.get("next", "") if request.method == "POST" else ""
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = ""
    response = render(
        request,
        "registration/login.html",
        {
            "form": form,
            "next": next_url,
            "locked_message": messages.signin_locked(cooloff_minutes()),
        },
        status=settings.AXES_HTTP_RESPONSE_CODE,
    )
    response["Retry-After"] = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    return response
