"""Who is calling (a bearer token, or the browser's signed-in session), and api_view, which
turns declared operations into one Django view per URL.

The site runs LoginRequiredMiddleware, which would redirect an API client to the HTML login
page; API views opt out of it and answer 401 JSON themselves."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.middleware.csrf import CsrfViewMiddleware
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from imagestudio.api import messages
from imagestudio.api.contract import ApiError, Operation, OperationFunc, json_error
from imagestudio.api.models import ApiToken, hash_token
from imagestudio.studio import changes
from imagestudio.web import messages as web_messages
from imagestudio.web.throttle import FailureThrottle, client_address

# last_used_at is for "is this token still in use?", not an audit log: one write a minute
# per token is plenty, and spares the 2-second status polls a write each.
TOUCH_INTERVAL = timedelta(seconds=60)

# Used only for its check, never as middleware: the view is exempt from the real one so a
# token client needs no CSRF cookie, and we run the same check ourselves for sessions.
_csrf = CsrfViewMiddleware(lambda request: HttpResponse())


def unauthorized(message: str) -> HttpResponse:
    response = json_error(401, "unauthorized", message)
    response["WWW-Authenticate"] = 'Bearer realm="imagestudio"'
    return response


def find_token(raw: str) -> ApiToken | None:
    """The active token whose hash matches, with its user, in one query. Remembered for a
    minute for the fast answer to an unchanged poll (studio.changes.bearer_key)."""
    token = ApiToken.objects.select_related("user").filter(token_hash=hash_token(raw)).first()
    if token is None or not token.user.is_active:
        return None
    cache.set(changes.bearer_key(token.token_hash), token.user_id, changes.BEARER_SECONDS)
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


def token_throttle() -> FailureThrottle:
    return FailureThrottle(
        "api-token",
        limit=settings.API_TOKEN_FAILURE_LIMIT,
        window=settings.API_TOKEN_FAILURE_WINDOW,
        block=settings.API_TOKEN_FAILURE_WINDOW,
    )


def throttled(seconds: int) -> HttpResponse:
    response = json_error(429, "too_many_requests", web_messages.token_throttled(seconds))
    response["Retry-After"] = str(seconds)
    return response


def _bearer(request: HttpRequest, header: str) -> HttpResponse | None:
    # Checked before the token is looked up: a blocked address costs one cache read, and a
    # guess made while blocked tells the guesser nothing.
    throttle, address = token_throttle(), client_address(request)
    wait = throttle.retry_after(address)
    if wait:
        return throttled(wait)
    scheme, _, raw = header.partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        throttle.failed(address)
        return unauthorized(messages.malformed_authorization())
    token = find_token(raw.strip())
    if token is None:
        throttle.failed(address)
        return unauthorized(messages.unknown_token())
    touch(token)
    request.user = token.user
    request.api_token = token  # type: ignore[attr-defined]  # for views that need the token
    return None


def _session(request: HttpRequest) -> HttpResponse | None:
    if not request.user.is_authenticated:
        return unauthorized(messages.not_signed_in())
    if _csrf.process_view(request, None, (), {}) is not None:  # type: ignore[arg-type]
        return json_error(403, "csrf_failed", messages.csrf_failed())
    return None


def authenticate(request: HttpRequest) -> HttpResponse | None:
    """None when the caller is known (request.user set), else the error response.

    A request that sends an Authorization header is judged by it alone: a bad token never
    falls back to a session cookie that happens to be there."""
    request.api_token = None  # type: ignore[attr-defined]
    header = request.headers.get("Authorization")
    if header is not None:
        return _bearer(request, header)
    return _session(request)


# The statuses api_view itself answers with, beside the operation's own: the document lists
# them on every operation they apply to, and the contract test counts them the same way.
UNAUTHORIZED = 401
CSRF_FAILED = 403
TOO_MANY_FAILURES = 429
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}


def wrapper_statuses(op: Operation) -> dict[int, str]:
    """What api_view may answer for `op` before the operation runs."""
    if op.public:
        return {}
    statuses = {
        UNAUTHORIZED: "Missing or invalid bearer token, and no signed-in session.",
        TOO_MANY_FAILURES: "too_many_requests: too many unknown tokens from this address; "
        "see Retry-After.",
    }
    if op.method not in _SAFE_METHODS:
        statuses[CSRF_FAILED] = "csrf_failed: a browser session sent no X-CSRFToken header."
    return statuses


def not_allowed(allowed: list[str]) -> HttpResponse:
    listed = ", ".join(allowed)
    response = json_error(
        405, "method_not_allowed", messages.method_not_allowed(listed), allowed=allowed
    )
    response["Allow"] = listed
    return response


def api_view(*operations: OperationFunc) -> Callable[..., HttpResponseBase]:
    """One URL's view: picks the operation by method (405 JSON with Allow otherwise),
    authenticates unless it is public (401 JSON), runs it, and turns ApiError and Http404
    into the JSON envelope (Django's own 404 page is HTML)."""
    by_method = {func.operation.method: func for func in operations}

    def view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        func = by_method.get(request.method or "")
        if func is None:
            return not_allowed(list(by_method))
        if not func.operation.public:
            failure = authenticate(request)
            if failure is not None:
                return failure
        try:
            return func(request, *args, **kwargs)
        except ApiError as exc:
            return exc.response()
        except Http404 as exc:
            return json_error(404, "not_found", str(exc) or messages.not_found())

    view.operations = tuple(func.operation for func in operations)  # type: ignore[attr-defined]
    view.__name__ = "_".join(func.operation.operation_id for func in operations)
    return login_not_required(csrf_exempt(view))


def json_404_view(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """For the API's catch-all: any method, no sign-in, its Http404 as JSON."""

    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            return view(request, *args, **kwargs)
        except Http404 as exc:
            return json_error(404, "not_found", str(exc) or messages.not_found())

    return login_not_required(csrf_exempt(wrapper))
