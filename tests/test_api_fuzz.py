"""Schemathesis against the served OpenAPI document: every operation, with generated valid
and invalid requests, never answers 5xx and always answers as documented (status, content
type and body schema). A bounded number of examples per operation keeps it quick."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.factories import make_finished, make_token

EXAMPLES = 3
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


# The document as the site serves it (public: no database needed to fetch it).
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())


@pytest.fixture(autouse=True)
def _keep_the_test_connection(db):
    # As Django's test client does: a request's start and end must not close the test's
    # connection (its transaction holds every row the test made).
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def staff_token(admin_user, team):
    # Rows for the generated ids to find: a finished image and a token of a staff user, so
    # the provisioning operations run past their 403.
    make_finished(admin_user)
    _, raw = make_token(admin_user, name="fuzz")
    return raw


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_api_answers_every_request_as_documented(case, staff_token):
    # identity: schemathesis's WSGI transport asks for gzip but reads the body undecoded.
    headers = {"Authorization": f"Bearer {staff_token}", "Accept-Encoding": "identity"}
    case.call_and_validate(headers=headers, checks=CHECKS)
