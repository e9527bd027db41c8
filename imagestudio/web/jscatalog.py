"""The scripts' translations (Django's JavaScriptCatalog) at a URL that names the language
and a digest of the catalogue itself: `/jsi18n/zh-hans/3f2a….js`. A browser keeps it for a
year without asking again (`immutable`), and a new catalogue (a deploy with new words) is a
new URL, so nobody keeps an old one. An old page asking for an older digest is sent to the
current one."""

from __future__ import annotations

import hashlib
import threading

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import translation
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET
from django.views.i18n import JavaScriptCatalog

YEAR = 365 * 24 * 3600
_built: dict[str, tuple[bytes, str]] = {}
_lock = threading.Lock()


def _catalogue(language: str) -> tuple[bytes, str]:
    """The catalogue's script and its digest; built once per process and language (the
    compiled .mo files do not change while it runs)."""
    with _lock:
        if language not in _built:
            # The view reads nothing from its request but the method.
            request = HttpRequest()
            request.method = "GET"
            with translation.override(language):
                response = JavaScriptCatalog.as_view()(request)
            body = response.content  # type: ignore[attr-defined]  # an HttpResponse
            _built[language] = (body, hashlib.sha256(body).hexdigest()[:16])
        return _built[language]


def _known(language: str) -> bool:
    return language in {code for code, _name in settings.LANGUAGES}


def url_for(language: str | None = None) -> str:
    """The current catalogue's URL, in the active language by default."""
    language = language or translation.get_language() or settings.LANGUAGE_CODE
    if not _known(language):
        language = settings.LANGUAGE_CODE
    _body, version = _catalogue(language)
    return reverse("javascript-catalog", kwargs={"language": language, "version": version})


@login_not_required
@require_GET
def javascript_catalog(request: HttpRequest, language: str, version: str) -> HttpResponseBase:
    if not _known(language):
        raise Http404
    body, current = _catalogue(language)
    if version != current:
        return redirect(url_for(language))
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    patch_cache_control(response, public=True, max_age=YEAR, immutable=True)
    return response
