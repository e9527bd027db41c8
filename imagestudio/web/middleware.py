"""Request bodies the views never get to see: a multipart body Django cannot parse (no
boundary, a broken part) becomes a 400 in the API's JSON envelope (pages get the studio's
400 page) instead of Django's bare HTML."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError

from imagestudio.web import messages

API_PREFIX = "/api/"


def is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PREFIX)


class RequestGuardMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if isinstance(exc, MultiPartParserError) and is_api(request):
            from imagestudio.api.contract import json_error

            return json_error(400, "bad_request", messages.body_malformed())
        return None
