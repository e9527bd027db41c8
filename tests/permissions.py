"""The vocabulary of the URL permission table (tests/test_url_permissions.py): what an
answer is, one method tried on one URL, and the usual shapes of a row. Each area's rows live
beside it in tests/url_rows/ so that new URLs add rows without touching another area's."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings

ROLES = ("anonymous", "owner", "teammate", "outsider", "staff")


@dataclass(frozen=True)
class Redirect:
    """A 302 whose Location starts with `to` (the login page)."""

    to: str

    def __str__(self) -> str:
        return f"302→{self.to}"


LOGIN = Redirect(settings.LOGIN_URL)
ADMIN_LOGIN = Redirect("/admin/login/")
Expected = int | Redirect


@dataclass(frozen=True)
class Try:
    """One method on one URL: the answers for ROLES, in order, and what to send."""

    method: str
    answers: tuple[Expected, Expected, Expected, Expected, Expected]
    query: Callable[[dict], dict] | None = None
    data: Callable[[dict], Any] | None = None
    # "form" (multipart, as a browser's form or an API upload sends it) or "json".
    body: str = "form"
    # The URL's parameters from the rows, when they are not the image's (a board's id…).
    kwargs: Callable[[dict], dict] | None = None


def browser_read(ok: Expected = 200) -> Try:
    return Try("GET", (LOGIN, ok, ok, 404, ok))


def browser_page(ok: Expected = 200) -> Try:
    """A page of the signed-in user's own (no object of the owner's in the URL)."""
    return Try("GET", (LOGIN, ok, ok, ok, ok))


def browser_change(method: str = "POST", ok: Expected = 302) -> Try:
    return Try(method, (LOGIN, ok, 404, 404, ok))


def staff_page() -> Try:
    return Try("GET", (LOGIN, 403, 403, 403, 200))


def api_read() -> Try:
    return Try("GET", (401, 200, 200, 404, 200))


def staff_api(method: str, ok: int = 200, **sent: Any) -> Try:
    """A staff-only API operation: 401 without a token, 403 for anyone but staff."""
    return Try(method, (401, 403, 403, 403, ok), body="json", **sent)


def public(ok: int = 200, method: str = "GET") -> Try:
    return Try(method, (ok, ok, ok, ok, ok))
