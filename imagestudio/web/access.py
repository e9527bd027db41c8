"""Who may open a staff page (people, spend, audit, the gateway's books): one rule, each
app saying in its own words why someone else may not."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.http.response import HttpResponseBase

View = Callable[..., HttpResponseBase]


def staff_required(reason: Callable[[], str]) -> Callable[[View], View]:
    """Sign-in first (a stranger goes to the sign-in page), then staff: anyone else gets the
    403 page saying `reason()`, worded in their language when the page is drawn."""

    def decorate(view: View) -> View:
        @wraps(view)
        def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.is_staff:
                raise PermissionDenied(reason())
            return view(request, *args, **kwargs)

        return login_required(checked)

    return decorate
