"""Typed requests and the one "htmx fragment or full page / redirect" decision."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django_htmx.http import HttpResponseClientRedirect
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    """What the views receive (django-htmx's documented typing pattern)."""

    htmx: HtmxDetails
    user: Any  # the auth user model, or AnonymousUser on public views


def page_or_part(
    request: HtmxHttpRequest,
    template: str,
    context: dict[str, Any],
    part: str,
    *,
    status: int = 200,
) -> HttpResponse:
    """The whole page for a plain request, only `template#part` for htmx: the same view
    and the same URL serve both, so everything also works without JavaScript."""
    name = f"{template}#{part}" if request.htmx else template
    return render(request, name, context, status=status)


def redirect_or_client(request: HtmxHttpRequest, url: str) -> HttpResponse:
    """A 302 for a plain request; for htmx, HX-Redirect (a 302 would be followed inside the
    XHR and its page swapped into the target)."""
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
