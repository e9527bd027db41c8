"""Serving a stored file: one way for originals, thumbnails, edit inputs and staged
pictures, in the browser and in the API."""

from __future__ import annotations

import logging
import posixpath

from django.conf import settings
from django.core.files.base import ContentFile
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

log = logging.getLogger(__name__)


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


class StorageRefused(Exception):
    """Storage would not take an upload (full, read-only, unreachable): the person is told
    to try again later (a 503 in the API), never shown a 500."""


def save_upload(name: str, data: bytes) -> str:
    """Write an uploaded picture to storage under `name`; its stored name. StorageRefused
    when storage fails, whatever the backend's own exception."""
    try:
        return default_storage.save(name, ContentFile(data))
    except Exception as exc:
        log.warning("storage refused an upload (%s: %s)", type(exc).__name__, exc)
        raise StorageRefused(str(exc)) from exc
