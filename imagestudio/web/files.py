"""Serving a stored file: one way for originals, thumbnails, edit inputs and staged
pictures, in the browser and in the API."""

from __future__ import annotations

import posixpath

from django.conf import settings
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.utils.cache import patch_cache_control

# Stored names are random and never reused, and an image's files are written once, so the
# bytes behind a URL never change: a browser keeps them for a year without asking again (a
# gallery of thumbnails costs no requests on the next visit). Private: every file is
# behind a sign-in.
CACHE_SECONDS = 365 * 24 * 3600
# A signed S3 URL lives a little longer than the redirect to it may be cached.
REDIRECT_CACHE_SECONDS = 300


def serve(
    name: str | None,
    *,
    filename: str = "",
    download: bool = False,
    content_type: str | None = None,
    missing: str = "The file is missing from storage.",
) -> HttpResponseBase:
    """Stream `name` from local storage, or redirect to a short-lived signed URL on S3 (the
    bucket stays private and the bytes skip this server). Http404 when it is gone."""
    if not name:
        raise Http404(missing)
    filename = filename or posixpath.basename(name)
    if settings.S3_BUCKET:
        redirect = HttpResponseRedirect(_signed_url(name, filename, download))
        patch_cache_control(redirect, private=True, max_age=REDIRECT_CACHE_SECONDS)
        return redirect
    try:
        handle = default_storage.open(name, "rb")
    except FileNotFoundError as exc:
        raise Http404(missing) from exc
    response = FileResponse(
        handle, as_attachment=download, filename=filename, content_type=content_type
    )
    patch_cache_control(response, private=True, max_age=CACHE_SECONDS, immutable=True)
    return response


def _signed_url(name: str, filename: str, download: bool) -> str:
    if download:
        try:
            # S3-style storages sign a Content-Disposition into the URL.
            return default_storage.url(  # type: ignore[call-arg]  # S3 storages take it
                name,
                parameters={"ResponseContentDisposition": f'attachment; filename="{filename}"'},
            )
        except TypeError:
            pass
    return default_storage.url(name)
