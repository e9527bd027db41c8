"""URL permission rows for company sign-in and the people pages (see
tests/test_url_permissions.py). Without an OpenID provider configured (as in that test),
the provider's two routes do not exist for anyone."""

from __future__ import annotations

from tests.permissions import Try, public

ROWS: dict[str, list[Try]] = {
    "oidc:start": [public(404)],
    "oidc:callback": [public(404)],
}
