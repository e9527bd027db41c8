"""Log hygiene: a refused request (403, 404, any 4xx) is one line in the log.

Django logs a PermissionDenied with its traceback, which says nothing a reader needs (the
view refused on purpose) and buries the tracebacks of real failures. The record keeps its
line and status; only the traceback goes. 5xx records are left whole."""

from __future__ import annotations

import logging


class ClientErrorsOneLine(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and 400 <= status < 500:
            record.exc_info = None
            record.exc_text = None
        return True
