"""URL permission rows for the gateway's books (see tests/test_url_permissions.py): the
page, its threshold form and the API are staff's. Without a system token (the rows'
settings) the page says so (200) and the API answers 409 not_configured."""

from __future__ import annotations

from tests.permissions import LOGIN, Try, staff_page

ROWS: dict[str, list[Try]] = {
    "reconcile:books": [staff_page()],
    # An empty amount: the page again with its message.
    "reconcile:threshold": [Try("POST", (LOGIN, 403, 403, 403, 302))],
    "api:reconciliation": [Try("GET", (401, 403, 403, 403, 409))],
}
