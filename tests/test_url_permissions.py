"""Every URL's permissions, as a table.

The URLconf is walked (includes too) and every pattern must have a row in TABLE, keyed by
its name: for each method tried, the answer expected for an anonymous caller, the image's
owner, a team-mate (same team, someone else's image), an outsider and staff. A new URL
without a row fails test_every_url_has_a_row, naming it; a row whose URL is gone fails too.

Each request runs on fresh rows (one test per URL, method and caller): an image owned by
`owner`, charged to `team` (the team-mate's), finished, with an input picture at position 1;
and a picture `owner` has staged in the studio form. A URL's ids are those rows'.

The product's rule, which the rows spell out:
- anonymous: a browser page redirects to the login page; the API answers 401 JSON (except
  its public index and document, and its JSON 404 for unknown paths);
- a team-mate reads an image (200) and builds a new version of their own on it, but a change
  (retry, cancel, delete) is a 404 in the browser and a 403 on the API's DELETE;
- an outsider gets 404 for anything of the owner's;
- staff may do everything; staff-only pages are 403 to everyone else once signed in.

Left out, on purpose: the Django admin's own URLs (`admin:` namespace: its own staff and
model-permission checks, tested by Django); one row, admin:index, checks that it is
staff-only. Static files are served by whitenoise's middleware, not the URLconf."""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from imagestudio import catalog
from tests.factories import (
    make_board,
    make_budget,
    make_finished,
    make_input,
    make_kit,
    make_staged,
    make_token,
    make_user,
)
from tests.permissions import (
    ADMIN_LOGIN,
    LOGIN,
    ROLES,
    Expected,
    Redirect,
    Try,
    api_read,
    browser_change,
    browser_page,
    browser_read,
    public,
    staff_api,
    staff_page,
)
from tests.url_rows import accounts, batches, boards, kits, reconcile


def catalogue_kwargs() -> dict:
    """The current catalogue's URL parameters (its digest is in the URL)."""
    from django.urls import resolve

    from imagestudio.web import jscatalog

    return resolve(jscatalog.url_for("en")).kwargs


pytestmark = pytest.mark.django_db

SKIPPED_NAMESPACES = {"admin": "Django's admin: its own staff and permission checks"}
SECRET_PROMPT = "the owner's secret lighthouse"


TABLE: dict[str, list[Try]] = {
    # --- the studio (browser) ------------------------------------------------------------
    # ?again= prefills the form from an image: only from one the caller may see.
    "studio:home": [
        browser_page(),
        Try("GET", (LOGIN, 200, 200, 404, 200), query=lambda r: {"again": r["image"].pk}),
    ],
    "studio:sizes": [
        Try("GET", (LOGIN, 200, 200, 200, 200), query=lambda r: {"model": catalog.VIP})
    ],
    "studio:check": [
        Try("POST", (LOGIN, 200, 200, 200, 200), data=lambda r: {"prompt": "a lighthouse"})
    ],
    # An empty form: re-rendered with its errors, nothing queued.
    "studio:generate": [Try("POST", (LOGIN, 200, 200, 200, 200))],
    # A list endpoint: unseen ids are left out (286 = stop polling), never shown.
    "studio:poll": [
        Try("GET", (LOGIN, 286, 286, 286, 286), query=lambda r: {"ids": r["image"].pk})
    ],
    # ?team= shows a team's images to its members; anyone else gets their own gallery.
    "studio:gallery": [
        Try("GET", (LOGIN, 200, 200, 200, 200), query=lambda r: {"team": r["image"].team_id})
    ],
    "studio:detail": [browser_read()],
    # The image is final: its live parts once, then 286 (stop polling).
    "studio:detail_poll": [Try("GET", (LOGIN, 286, 286, 404, 286))],
    "studio:image": [browser_read()],
    "studio:thumb": [browser_read()],
    "studio:input": [browser_read()],
    "studio:retry": [browser_change()],
    "studio:cancel": [browser_change()],
    "studio:delete": [browser_change("GET", ok=200), browser_change("POST")],
    # A team-mate builds a version of their own on the image (an empty prompt: refused
    # with a message on the detail page, so nothing is queued).
    "studio:iterate": [Try("POST", (LOGIN, 302, 302, 404, 302))],
    # Nothing posted: back to the studio page.
    "studio:stage": [Try("POST", (LOGIN, 302, 302, 302, 302))],
    "studio:pick": [browser_page()],
    "studio:staged": [
        Try(
            "GET",
            (LOGIN, 200, 404, 404, 200),
        )
    ],
    # --- spend (browser) -----------------------------------------------------------------
    "spend:dashboard": [staff_page()],
    "spend:soft_refusals": [staff_page()],
    "spend:mine": [browser_page()],
    # --- the audit log (staff) -----------------------------------------------------------
    "audit:log": [staff_page()],
    # --- the API (bearer tokens for the signed-in callers) -------------------------------
    "api:index": [public()],
    "api:openapi": [public()],
    "api:generations": [
        Try("GET", (401, 200, 200, 200, 200)),  # each caller's own list
        Try(
            "POST",
            (401, 202, 202, 202, 202),
            data=lambda r: {"model": catalog.VIP, "prompt": "a lighthouse"},
            body="json",
        ),
    ],
    "api:generation": [
        api_read(),
        Try("DELETE", (401, 204, 403, 404, 204)),
        # Stars are each caller's own: a team-mate stars the owner's image too.
        Try("PATCH", (401, 200, 200, 404, 200), data=lambda r: {"starred": True}),
    ],
    "api:generation-image": [api_read()],
    "api:generation-thumbnail": [api_read()],
    "api:generation-input": [api_read()],
    "api:generation-iterate": [
        Try("POST", (401, 202, 202, 404, 202), data=lambda r: {"prompt": "bluer"}, body="json")
    ],
    # The owner's image as an edit source: the outsider's is refused as an unknown picture
    # (400 on the field, as documented: the id is in the body, not the URL).
    "api:edits": [
        Try(
            "POST",
            (401, 202, 202, 400, 202),
            data=lambda r: {
                "model": catalog.ALL,
                "prompt": "on a mug",
                "image1": str(r["image"].pk),
            },
        )
    ],
    "api:spend": [Try("GET", (401, 200, 200, 200, 200))],  # staff: everyone's; others: own
    "api:audit": [Try("GET", (401, 403, 403, 403, 200))],
    # --- provisioning: staff only; tokens are everyone's own (staff: anyone's) ------------
    "api:users": [
        staff_api("GET"),
        staff_api("POST", 201, data=lambda r: {"username": "newcomer"}),
    ],
    "api:user": [
        staff_api(
            "PATCH",
            data=lambda r: {"email": "new@example.com"},
            kwargs=lambda r: {"pk": r["image"].user_id},
        )
    ],
    "api:teams": [staff_api("GET"), staff_api("POST", 201, data=lambda r: {"name": "Newcomers"})],
    "api:team-members": [
        staff_api(
            "POST",
            data=lambda r: {"users": [r["image"].user_id]},
            kwargs=lambda r: {"pk": r["image"].team_id},
        )
    ],
    "api:team-member": [
        staff_api(
            "DELETE",
            204,
            kwargs=lambda r: {"pk": r["image"].team_id, "user_id": r["image"].user_id},
        )
    ],
    "api:budgets": [
        staff_api("GET"),
        staff_api("PUT", data=lambda r: {"scope": "global", "monthly_usd": "1000"}),
        staff_api("DELETE", 204, query=lambda r: {"scope": "team", "team": r["budget"].team_id}),
    ],
    "api:tokens": [
        Try("GET", (401, 200, 200, 200, 200)),  # each caller's own; staff: everyone's
        Try("POST", (401, 201, 201, 201, 201), data=lambda r: {"name": "ci"}, body="json"),
    ],
    "api:token": [Try("DELETE", (401, 204, 404, 404, 204), kwargs=lambda r: {"pk": r["token"].pk})],
    "api:not-found": [public(404)],
    # --- the user's own preferences (language: anyone, also on the sign-in page) ----------
    "account:preferences": [browser_page()],
    "account:home": [public(302)],
    "account:language": [
        Try("POST", (302, 302, 302, 302, 302), data=lambda r: {"language": "en", "next": "/"})
    ],
    # --- the user's own API tokens (staff may revoke anyone's, as on the API) -------------
    "tokens:list": [
        browser_page(),
        Try("POST", (LOGIN, 200, 200, 200, 200), data=lambda r: {"name": "laptop"}),
    ],
    "tokens:revoke": [
        Try("GET", (LOGIN, 200, 404, 404, 200), kwargs=lambda r: {"pk": r["token"].pk}),
        Try("POST", (LOGIN, 302, 404, 404, 302), kwargs=lambda r: {"pk": r["token"].pk}),
    ],
    # The scripts' translations: public, as the sign-in page uses them too.
    "javascript-catalog": [
        Try("GET", (200,) * 5, kwargs=lambda r: catalogue_kwargs()),
        Try("POST", (405,) * 5, kwargs=lambda r: catalogue_kwargs()),
    ],
    # --- operations: probes need no sign-in (503 here: no worker beats in this run) ------
    "ops:healthz": [public(503), Try("POST", (405, 405, 405, 405, 405))],
    "ops:metrics": [Try("GET", (401, 403, 403, 403, 200))],
    # --- accounts (django.contrib.auth) --------------------------------------------------
    "login": [public()],
    "logout": [Try("POST", (302, 302, 302, 302, 302))],
    "password_change": [browser_page()],
    "password_change_done": [browser_page()],
    "password_reset": [public()],
    "password_reset_done": [public()],
    "password_reset_confirm": [public()],  # a bad link: the page says so
    "password_reset_complete": [public()],
    # --- the admin: the rest of its URLs are skipped (see the module's docstring) --------
    "admin:index": [Try("GET", (ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 200))],
}
# Each campaign area keeps its rows beside it (tests/url_rows/); a name in two is a mistake.
for _area in (accounts.ROWS, batches.ROWS, boards.ROWS, kits.ROWS, reconcile.ROWS):
    assert not set(_area) & set(TABLE), set(_area) & set(TABLE)
    TABLE.update(_area)


# --- the URLconf --------------------------------------------------------------------------
@dataclass(frozen=True)
class Route:
    name: str  # namespace:name, or the route itself when the pattern has no name
    route: str
    pattern: URLPattern


def walk(
    patterns: list | None = None, namespace: str = "", prefix: str = ""
) -> list[tuple[Route, str]]:
    """Every URL pattern, recursing into includes: (route, namespace it lives in)."""
    found: list[tuple[Route, str]] = []
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = ":".join(p for p in (namespace, entry.namespace or "") if p)
            found += walk(entry.url_patterns, inner, route)
        else:
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
            found.append((Route(name or route, route, entry), namespace.split(":")[0]))
    return found


ROUTES = {route.name: route for route, _ns in walk()}


def checked_routes() -> list[Route]:
    return [r for r, ns in walk() if ns not in SKIPPED_NAMESPACES or r.name in TABLE]


def test_every_url_has_a_row():
    names = [r.name for r in checked_routes()]
    missing = sorted(n for n in names if n not in TABLE)
    assert not missing, (
        "These URL patterns have no row in tests/test_url_permissions.py TABLE; add the "
        "answer each of anonymous/owner/teammate/outsider/staff must get (an unnamed "
        "pattern is listed by its route: give it a name): "
        + ", ".join(f"{n} ({ROUTES[n].route})" for n in missing)
    )
    gone = sorted(set(TABLE) - set(names))
    assert not gone, f"TABLE has rows for URLs that no longer exist: {', '.join(gone)}"
    assert all(TABLE[n] for n in names), "every row tries at least one method"


# --- the rows and the callers -------------------------------------------------------------
@pytest.fixture
def rows(owner, team):
    image = make_finished(owner, team=team, prompt=SECRET_PROMPT)
    make_input(image, position=1)
    return {
        "image": image,
        "input_position": 1,
        "staged": make_staged(owner),
        # The owner's own API token (not the one the caller signs in with) and a budget of
        # the team's, large enough never to refuse a submit here.
        "token": make_token(owner, "rows")[0],
        "budget": make_budget("1000", team=team),
        # The owner's team board holding the image, the team's kit, the image's batch.
        "board": make_board(owner, "Summer sale", team=team, items=[image]),
        "kit": make_kit(owner, team=team, pictures=1),
        "batch": image.batch,
    }


def url_for(name: str, rows: dict, attempt: Try | None = None) -> str:
    values = {
        "pk": rows["staged"].pk if name == "studio:staged" else rows["image"].pk,
        "position": rows["input_position"],
        "path": "no-such-endpoint",
        "uidb64": "MQ",
        "token": "not-a-token",
    }
    if attempt is not None and attempt.kwargs is not None:
        values.update(attempt.kwargs(rows))
    # Its parameters: a path() pattern's converters, a re_path()'s named groups.
    pattern = ROUTES[name].pattern.pattern
    params = getattr(pattern, "converters", None) or pattern.regex.groupindex
    return reverse(name, kwargs={k: values[k] for k in params})


def caller(request, role: str, api: bool) -> tuple[Client, dict]:
    """A client for `role`, and the headers it sends: a session in the browser, a bearer
    token on the API (its own way in), nothing for anonymous."""
    if role == "anonymous":
        return Client(), {}
    user = request.getfixturevalue(
        {"owner": "owner", "teammate": "teammate", "outsider": "other_user", "staff": "admin_user"}[
            role
        ]
    )
    browser = Client()
    if api:
        _token, raw = make_token(user)
        return browser, {"Authorization": f"Bearer {raw}"}
    browser.force_login(user)
    return browser, {}


def send(client: Client, headers: dict, url: str, attempt: Try, rows: dict):
    query = attempt.query(rows) if attempt.query else {}
    data = attempt.data(rows) if attempt.data else {}
    if attempt.method == "GET":
        return client.get(url, query, headers=headers)
    if attempt.method == "DELETE":
        # A DELETE's data would be its body: the query goes on the URL.
        return client.delete(f"{url}?{urlencode(query)}" if query else url, headers=headers)
    if attempt.method in ("PUT", "PATCH"):
        body = json.dumps(data)
        return client.generic(
            attempt.method, url, body, content_type="application/json", headers=headers
        )
    if query:
        url = f"{url}?{urlencode(query)}"
    if attempt.body == "json":
        return client.post(url, data, content_type="application/json", headers=headers)
    return client.post(url, data, headers=headers)


def cases():
    for name, tries in TABLE.items():
        for j, attempt in enumerate(tries):
            variant = f"-{j + 1}" if j and attempt.method == tries[j - 1].method else ""
            for i, role in enumerate(ROLES):
                yield pytest.param(
                    name,
                    attempt,
                    role,
                    attempt.answers[i],
                    id=f"{name}-{attempt.method}{variant}-{role}",
                )


def matches(response, expected: Expected) -> bool:
    if isinstance(expected, Redirect):
        return response.status_code == 302 and response["Location"].startswith(expected.to)
    return response.status_code == expected


@pytest.mark.parametrize(("name", "attempt", "role", "expected"), list(cases()))
def test_the_answer_in_the_table(request, rows, name, attempt, role, expected):
    url = url_for(name, rows, attempt)
    client, headers = caller(request, role, api=name.startswith("api:"))
    response = send(client, headers, url, attempt, rows)
    location = response.get("Location", "")
    assert matches(response, expected), (
        f"{attempt.method} {url} ({name}) as {role}: expected {expected}, got "
        f"{response.status_code}{' → ' + location if location else ''}"
    )
    if role in ("anonymous", "outsider") and not response.streaming:
        # Whatever the status, nothing of the owner's image leaks into the answer.
        assert SECRET_PROMPT not in response.content.decode(errors="replace")


# --- staff versus a superuser: nobody becomes somebody else ----------------------------------
# The same URLs, with the row's token a superuser's: (staff who is not one, a superuser).
SUPERUSER_TABLE: dict[str, list[tuple[Try, Expected, Expected]]] = {
    "api:token": [
        (Try("DELETE", (0,) * 5, kwargs=lambda r: {"pk": r["token"].pk}), 404, 204),
    ],
    "api:tokens": [
        (
            Try("POST", (0,) * 5, data=lambda r: {"name": "x", "user": r["boss"].pk}, body="json"),
            403,
            201,
        ),
    ],
    "tokens:revoke": [
        (Try("GET", (0,) * 5, kwargs=lambda r: {"pk": r["token"].pk}), 404, 200),
        (Try("POST", (0,) * 5, kwargs=lambda r: {"pk": r["token"].pk}), 404, 302),
    ],
}


def superuser_cases():
    for name, tries in SUPERUSER_TABLE.items():
        for attempt, as_staff, as_superuser in tries:
            for role, expected in (("staff", as_staff), ("superuser", as_superuser)):
                yield pytest.param(
                    name, attempt, role, expected, id=f"{name}-{attempt.method}-{role}"
                )


@pytest.mark.parametrize(("name", "attempt", "role", "expected"), superuser_cases())
def test_staff_cannot_act_for_a_superuser(name, attempt, role, expected, db):
    boss = make_user("boss-of-rows", superuser=True)
    rows = {"boss": boss, "token": make_token(boss, "rows")[0]}
    if role == "staff":
        user = make_user("clerk-of-rows", staff=True)
    else:
        user = make_user("other-boss", superuser=True)
    client = Client()
    headers: dict = {}
    if name.startswith("api:"):
        headers = {"Authorization": f"Bearer {make_token(user)[1]}"}
    else:
        client.force_login(user)
    values = {"pk": rows["token"].pk} if attempt.kwargs else {}
    url = reverse(name, kwargs=values)
    response = send(client, headers, url, attempt, rows)
    assert matches(response, expected), (name, role, response.status_code)
