"""Request bodies the views never get to see in full: a body over MAX_REQUEST_BYTES is
refused (413) from its Content-Length before it is read; a file over MAX_UPLOAD_FILE_BYTES
stops the parse as it streams in (imagestudio.web.uploads) and is a 413 too; a multipart
body Django cannot parse (no boundary, a broken part) is a 400. The API answers in its JSON
envelope, pages with the studio's error page, never Django's bare HTML."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import DisallowedHost, RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render

from imagestudio.web import messages
from imagestudio.web.uploads import declared_length

API_PREFIX = "/api/"


def is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PREFIX)


def _limit_mb() -> int:
    return max(1, settings.MAX_REQUEST_BYTES // (1024 * 1024))


def too_large(request: HttpRequest) -> HttpResponse:
    if is_api(request):
        from imagestudio.api.contract import json_error

        response: HttpResponse = json_error(413, "too_large", messages.body_too_large(_limit_mb()))
    else:
        response = render(
            request, "400.html", {"message": messages.body_too_large(_limit_mb())}, status=413
        )
    # The client may still be sending: tell it not to reuse the connection.
    response["Connection"] = "close"
    return response


def malformed(request: HttpRequest) -> HttpResponse:
    if is_api(request):
        from imagestudio.api.contract import json_error

        return json_error(400, "bad_request", messages.body_malformed())
    return render(request, "400.html", {"message": messages.body_malformed()}, status=400)


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def nul_refused(request: HttpRequest) -> HttpResponse:
    """A form field holding a NUL character: PostgreSQL stores none (SQLite would), so it
    is refused on every database before a view sees it."""
    if is_api(request):
        from imagestudio.api.contract import json_error

        return json_error(400, "bad_request", messages.form_nul())
    return render(request, "400.html", {"message": messages.form_nul()}, status=400)


class RequestGuardMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if declared_length(request.META) > settings.MAX_REQUEST_BYTES:
            return too_large(request)
        if (
            not is_api(request)
            and request.method == "POST"
            and request.content_type == "multipart/form-data"
        ):
            # Pages: parsed here, so a file over the limit or a broken body gets its answer
            # (the CSRF check would otherwise be the first to read it, and make it a 400).
            # The API's views read their own bodies and answer in the envelope.
            try:
                request.POST  # noqa: B018 - parses the body (and FILES)
            except RequestDataTooBig:
                return too_large(request)
            except MultiPartParserError:
                return malformed(request)
        if request.method == "POST" and request.content_type in FORM_TYPES:
            # Reading the body here is final: a body Django failed to parse is left empty
            # for the view, which would then answer "no file" instead of the real reason.
            try:
                has_nul = any("\x00" in k or "\x00" in v for k, v in request.POST.items())
            except RequestDataTooBig:
                return too_large(request)
            except MultiPartParserError:
                return malformed(request)
            if has_nul:
                return nul_refused(request)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if not is_api(request):
            return None
        if isinstance(exc, RequestDataTooBig):
            return too_large(request)
        if isinstance(exc, MultiPartParserError):
            return malformed(request)
        return None


class UnknownHostMiddleware:
    """A Host header that is not one of ALLOWED_HOSTS is a plain 400 before anything else
    runs. Left to Django, the DisallowedHost would be answered with the studio's error
    page, whose layout needs the signed-in user no middleware has set yet: a 500."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            request.get_host()
        except DisallowedHost:
            return HttpResponse(
                messages.unknown_host(), status=400, content_type="text/plain; charset=utf-8"
            )
        return self.get_response(request)
