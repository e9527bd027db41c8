"""A refused request is one line in the log: a 403 (PermissionDenied) or a 404 keeps its
line and status and loses the traceback Django would print; a 500 keeps its traceback."""

from __future__ import annotations

import logging
import sys

import pytest

from imagestudio.web.logs import ClientErrorsOneLine
from tests.factories import make_generation

pytestmark = pytest.mark.django_db


def request_records(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "django.request"]


def test_a_403_and_a_404_are_one_line_each(owner_client, other_user, caplog):
    theirs = make_generation(other_user)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert owner_client.get("/audit/").status_code == 403
        assert owner_client.get(f"/images/{theirs.pk}/").status_code == 404

    forbidden, missing = request_records(caplog)
    assert "Forbidden" in forbidden.getMessage() and forbidden.status_code == 403
    assert "Not Found" in missing.getMessage()
    assert forbidden.exc_info is None and missing.exc_info is None
    assert "Traceback" not in caplog.text


def test_a_server_error_keeps_its_traceback():
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        failure = sys.exc_info()
    record = logging.LogRecord("django.request", logging.ERROR, "", 0, "x", (), failure)
    record.status_code = 500

    assert ClientErrorsOneLine().filter(record)
    assert record.exc_info == failure
