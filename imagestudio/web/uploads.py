"""Request bodies bounded while they stream in.

Two limits, both in settings: the whole body (MAX_REQUEST_BYTES, checked from
Content-Length before a byte is read; Django never reads past Content-Length) and each
uploaded file (MAX_UPLOAD_FILE_BYTES, counted chunk by chunk as the multipart parser hands
them over, so a 200 MB file stops at the first chunk over the limit instead of being
spooled to disk and read whole before the picture check refuses it)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.files.uploadhandler import FileUploadHandler


class FileTooLarge(RequestDataTooBig):
    """One uploaded file passed MAX_UPLOAD_FILE_BYTES."""


class BoundedUploadHandler(FileUploadHandler):
    """First in FILE_UPLOAD_HANDLERS: counts each file's bytes and stops the parse at the
    first chunk past the limit; the chunks go on to the memory / temporary-file handlers."""

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        if start + len(raw_data) > settings.MAX_UPLOAD_FILE_BYTES:
            raise FileTooLarge(f"an uploaded file is over {settings.MAX_UPLOAD_FILE_BYTES} bytes")
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


def declared_length(meta: dict) -> int:
    try:
        return max(0, int(str(meta.get("CONTENT_LENGTH") or 0).strip() or 0))
    except ValueError:
        return 0
