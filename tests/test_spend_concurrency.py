"""Budgets hold under concurrent submits: 20 parallel submits at a cap that fits 5.

Each thread has its own database connection and transaction. On PostgreSQL (the
scale-out run, `python -m tests.scaleout`) the budget row lock serialises them; on SQLite
the IMMEDIATE write lock does. Either way exactly 5 may get through: first as calls to the
submit service, then as 20 real HTTP requests to the JSON API of a threaded live server."""

from __future__ import annotations

import threading
from decimal import Decimal
from unittest import mock

import httpx
import pytest
from django.db import connection, connections

from imagestudio import catalog
from imagestudio.spend import budgets
from imagestudio.spend.budgets import BudgetExceeded
from imagestudio.spend.models import Attempt
from imagestudio.studio import services
from imagestudio.studio.models import Generation, Status
from tests.factories import bearer, make_budget, make_team, make_token, make_user

pytestmark = pytest.mark.django_db(transaction=True)
SUBMITS = 20
FITS = 5


def _race(users, team) -> tuple[int, int, list[BaseException]]:
    request = services.validate(model=catalog.ALL, prompt="a red bicycle", size="", count=1)
    barrier = threading.Barrier(SUBMITS)
    lock = threading.Lock()
    outcome = {"ok": 0, "refused": 0, "errors": []}

    def submit(user) -> None:
        try:
            barrier.wait(timeout=30)
            services.submit(user, request, team=team)
            key = "ok"
        except BudgetExceeded:
            key = "refused"
        except BaseException as exc:  # reported below, not swallowed
            with lock:
                outcome["errors"].append(exc)
            return
        finally:
            connections.close_all()
        with lock:
            outcome[key] += 1

    with mock.patch("imagestudio.studio.services.enqueue"):
        threads = [threading.Thread(target=submit, args=(u,)) for u in users]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    return outcome["ok"], outcome["refused"], outcome["errors"]


@pytest.mark.parametrize("scope", ["team", "global"])
def test_twenty_parallel_submits_at_a_cap_that_fits_five(scope):
    users = [make_user(f"designer{i}") for i in range(SUBMITS)]
    team = make_team("Design", *users)
    cap = FITS * catalog.price(catalog.ALL)
    make_budget(cap, team=team if scope == "team" else None)

    ok, refused, errors = _race(users, team)

    assert errors == [], f"unexpected errors on {connection.vendor}: {errors!r}"
    assert (ok, refused) == (FITS, SUBMITS - FITS)
    assert Generation.objects.count() == FITS
    assert FITS * catalog.price(catalog.ALL) == Decimal("0.15")


def test_one_users_cap_under_parallel_submits(owner):
    make_budget(FITS * catalog.price(catalog.ALL), user=owner)
    ok, refused, errors = _race([owner] * SUBMITS, None)
    assert errors == []
    assert (ok, refused) == (FITS, SUBMITS - FITS)


# --- the same race through the JSON API -------------------------------------------------------


def _post_all(url: str, tokens: list[str]) -> list[httpx.Response | BaseException]:
    """POST one image per token, all at once (a barrier lines the threads up)."""
    barrier = threading.Barrier(len(tokens))
    answers: list[httpx.Response | BaseException] = [RuntimeError("no answer")] * len(tokens)
    # One client, one connection per thread: a client's set-up costs more CPU than the
    # request, and 20 of them would spread the requests out.
    limits = httpx.Limits(max_connections=len(tokens), max_keepalive_connections=0)

    def send(http: httpx.Client, i: int) -> None:
        try:
            barrier.wait(timeout=30)
            body = {"model": catalog.ALL, "prompt": "a red bicycle"}
            answers[i] = http.post(url, json=body, headers=bearer(tokens[i]))
        except BaseException as exc:  # reported by the caller, not swallowed
            answers[i] = exc

    with httpx.Client(timeout=60, limits=limits) as http:
        threads = [threading.Thread(target=send, args=(http, i)) for i in range(len(tokens))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    return answers


@pytest.mark.parametrize("scope", ["team", "global"])
def test_twenty_parallel_api_submits_at_a_cap_that_fits_five_get_five_202s_and_fifteen_402s(
    scope, live_server
):
    users = [make_user(f"designer{i}") for i in range(SUBMITS)]
    team = make_team("Design", *users)
    cap = FITS * catalog.price(catalog.ALL)
    make_budget(cap, team=team if scope == "team" else None)
    tokens = [make_token(user)[1] for user in users]
    staff_token = make_token(make_user("boss", staff=True))[1]

    # No worker runs here: the jobs stay queued (their reservation) and no message is sent.
    with mock.patch("imagestudio.studio.services.enqueue"):
        answers = _post_all(f"{live_server.url}/api/v1/generations", tokens)

    errors = [a for a in answers if not isinstance(a, httpx.Response)]
    assert errors == [], f"requests that got no answer on {connection.vendor}: {errors!r}"
    responses = [a for a in answers if isinstance(a, httpx.Response)]
    by_status = sorted(r.status_code for r in responses)
    assert by_status == [202] * FITS + [402] * (SUBMITS - FITS), [r.text for r in responses]

    label = "Your team Design's monthly budget" if scope == "team" else "The studio's"
    for refused in (r for r in responses if r.status_code == 402):
        error = refused.json()["error"]
        # Refused only once the five accepted ones were reserved: $0.15 of $0.15.
        assert (error["code"], error["scope"]) == ("budget_exceeded", scope)
        assert (error["cap"], error["used"], error["reserved"], error["cost"]) == (
            "0.15",
            "0.00",
            "0.15",
            "0.03",
        )
        assert label in error["message"] and "is $0.15" in error["message"], error["message"]
        assert error["resets_on"] == budgets.next_month_start().date().isoformat()

    accepted = {g["id"] for r in responses if r.status_code == 202 for g in r.json()["generations"]}
    assert len(accepted) == FITS
    assert set(Generation.objects.values_list("pk", flat=True)) == accepted
    assert set(Generation.objects.values_list("status", flat=True)) == {Status.QUEUED}
    # Nothing reached the gateway, so nothing is billed; the cap is fully reserved.
    assert not Attempt.objects.exists()
    listed = httpx.get(
        f"{live_server.url}/api/v1/budgets", headers=bearer(staff_token), timeout=30
    ).json()["results"]
    [budget] = [b for b in listed if b["scope"] == scope]
    assert (budget["monthly_usd"], budget["spent_usd"], budget["reserved_usd"]) == (
        "0.15",
        "0.00",
        "0.15",
    )
    assert budget["left_usd"] == "0.00"
