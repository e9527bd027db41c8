from __future__ import annotations

import zoneinfo
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation

from imagestudio.accounts import session
from imagestudio.accounts.models import time_zones


class PreferenceMiddleware:
    """After LocaleMiddleware and sign-in: the account's language wins over the browser's,
    and its time zone is used for every date shown. Reads the session only (no query)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        store = getattr(request, "session", None)
        language = store.get(session.LANGUAGE_KEY, "") if store is not None else ""
        if language and translation.check_for_language(language):
            translation.activate(language)
            request.LANGUAGE_CODE = translation.get_language()
        zone = store.get(session.TIME_ZONE_KEY, "") if store is not None else ""
        if zone and zone in time_zones():
            timezone.activate(zoneinfo.ZoneInfo(zone))
        else:
            timezone.deactivate()
        response = self.get_response(request)
        if language:
            response.headers.setdefault("Content-Language", language)
        return response
