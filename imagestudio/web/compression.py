"""Pages, fragments, JSON and the scripts' catalogue go out gzipped (static files are
compressed ahead of time by whitenoise; images, thumbnails and ZIPs are compressed already
and pass untouched).

BREACH: a compressed answer that holds a secret next to text an attacker chooses can leak
the secret through its length. Django's GZipMiddleware pads every gzipped answer with up to
100 random bytes (in the gzip header's file name), which hides a length difference that
small; the CSRF token on pages is masked afresh on every request; the API's bearer tokens
are never echoed back, and the one answer that shows a new token (once) is a reply to a
POST that needs the CSRF token, which another site's page cannot send."""

from __future__ import annotations

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.middleware.gzip import GZipMiddleware

COMPRESSIBLE = ("text/", "application/json", "application/javascript", "application/xml")


class TextGZipMiddleware(GZipMiddleware):
    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        content_type = response.get("Content-Type", "")
        if not content_type.startswith(COMPRESSIBLE):
            return response
        return super().process_response(request, response)
