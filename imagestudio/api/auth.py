"""Who is calling: a bearer token, or the browser's signed-in session.

The site runs LoginRequiredMiddleware, which would redirect an API client to the HTML login
page; API views opt out of it and answer 401 JSON themselves."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps

from django.contrib.auth.decorators import login_not_required
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.middleware.csrf import CsrfViewMiddleware
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from imagestudio.api.models import ApiToken, hash_token
from imagestudio.api.serializers import json_error

View = Callable[..., HttpResponse]

# last_used_at is for "is this token still in use?", not an audit log: one write a minute
# per token is plenty, and spares the 2-second status polls a write each.
TOUCH_INTERVAL = timedelta(seconds=60)

_HOW_TO_AUTHENTICATE = (
    "Send 'Authorization: Bearer TOKEN' (an admin creates one with "
    "'python manage.py issue_api_token USERNAME'), or sign in to the studio in this browser."
)

# Used only for its check, never as middleware: the view is exempt from the real one so a
# token client needs no CSRF cookie, and we run the same check ourselves for sessions.
_csrf = CsrfViewMiddleware(lambda request: HttpResponse())


def unauthorized(message: str) -> HttpResponse:
    response = json_error(401, "unauthorized", message)
    response["WWW-Authenticate"] = 'Bearer realm="imagestudio"'
    return response


def find_token(raw: str) -> ApiToken | None:
    """The active token whose hash matches, with its user, in one query."""
    token = ApiToken.objects.select_related("user").filter(token_hash=hash_token(raw)).first()
    if token is None or not token.user.is_active:
        return None
    return token


def touch(token: ApiToken) -> None:
    now = timezone.now()
    if token.last_used_at is not None and now - token.last_used_at < TOUCH_INTERVAL:
        return
    # Conditional, so concurrent requests of one token still write once a minute at most.
    ApiToken.objects.filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - TOUCH_INTERVAL), pk=token.pk
    ).update(last_used_at=now)
    token.last_used_at = now


def _bearer(request: HttpRequest, header: str) -> HttpResponse | None:
    scheme, _, raw = header.partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        return unauthorized("Malformed Authorization header. " + _HOW_TO_AUTHENTICATE)
    token = find_token(raw.strip())
    if token is None:
        return unauthorized("Unknown or revoked API token. " + _HOW_TO_AUTHENTICATE)
    touch(token)
    request.user = token.user
    request.api_token = token
    return None


def _session(request: HttpRequest) -> HttpResponse | None:
    if not request.user.is_authenticated:
        return unauthorized("Not signed in. " + _HOW_TO_AUTHENTICATE)
    if _csrf.process_view(request, None, (), {}) is not None:
        return json_error(
            403,
            "csrf_failed",
            "CSRF check failed. Browser requests that change data must send the "
            "X-CSRFToken header; scripts should use a bearer token instead.",
        )
    return None


def authenticate(request: HttpRequest) -> HttpResponse | None:
    """None when the caller is known (request.user set), else the error response.

    A request that sends an Authorization header is judged by it alone: a bad token never
    falls back to a session cookie that happens to be there."""
    request.api_token = None
    header = request.headers.get("Authorization")
    if header is not None:
        return _bearer(request, header)
    return _session(request)


def _json_not_allowed(response: HttpResponseNotAllowed) -> HttpResponse:
    allowed = response["Allow"]
    converted = json_error(
        405, "method_not_allowed", f"This URL accepts {allowed}.", allowed=allowed.split(", ")
    )
    converted["Allow"] = allowed
    return converted


def api_view(*methods: str, authenticated: bool = True) -> Callable[[View], View]:
    """Method check (405 JSON), then authentication (401 JSON), then the view, whose Http404
    becomes a JSON 404 (Django's own 404 page is HTML)."""

    def decorate(view: View) -> View:
        @wraps(view)
        def checked(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if authenticated:
                failure = authenticate(request)
                if failure is not None:
                    return failure
            return view(request, *args, **kwargs)

        guarded = require_http_methods(list(methods))(checked)

        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            try:
                response = guarded(request, *args, **kwargs)
            except Http404 as exc:
                return json_error(404, "not_found", str(exc) or "Not found.")
            if isinstance(response, HttpResponseNotAllowed):
                return _json_not_allowed(response)
            return response

        return login_not_required(csrf_exempt(wrapper))

    return decorate
