"""Budgets hold under concurrent submits: 20 parallel submits at a cap that fits 5.

Each thread has its own database connection and transaction. On PostgreSQL (the
scale-out run, `python -m tests.scaleout`) the budget row lock serialises them; on SQLite
the IMMEDIATE write lock does. Either way exactly 5 may get through."""

from __future__ import annotations

import threading
from decimal import Decimal
from unittest import mock

import pytest
from django.db import connection, connections

from imagestudio import catalog
from imagestudio.spend.budgets import BudgetExceeded
from imagestudio.studio import services
from imagestudio.studio.models import Generation
from tests.factories import make_budget, make_team, make_user

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
