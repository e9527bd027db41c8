"""python manage.py set_budget (global | team NAME | user USERNAME) AMOUNT [--alert-at]
[--clear]: for scripts on the server, audited via "command"."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from imagestudio.audit.models import AuditEntry
from imagestudio.spend.models import Budget
from tests.factories import make_budget

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("set_budget", *args, stdout=out)
    return out.getvalue()


def test_sets_the_studio_budget_with_the_default_alert():
    assert "The studio: $500.00 a month, alert at 80 %" in run("global", "500")
    budget = Budget.objects.get(scope="global")
    assert budget.monthly_cap == Decimal("500.00") and budget.alert_at == Decimal("0.80")


def test_sets_a_team_budget_by_name_and_replaces_it(team):
    run("team", "Design", "120.50", "--alert-at", "0.9")
    run("team", "Design", "200")
    budget = Budget.objects.get(team=team)
    assert budget.monthly_cap == Decimal("200.00")
    # A replacement is a whole new setting: the threshold goes back to its default.
    assert budget.alert_at == Decimal("0.80")
    assert Budget.objects.count() == 1


def test_sets_a_user_budget_and_audits_it_as_a_command(owner):
    run("user", "owner", "12.5")
    entry = AuditEntry.objects.filter(object_type="budget").get()
    assert (entry.via, entry.action, entry.actor_name) == ("command", "created", "")
    assert entry.after["monthly_cap"] == "12.50" and entry.after["user"] == owner.pk


def test_clear_removes_the_budget(team):
    make_budget("10", team=team)
    assert "unlimited" in run("team", "Design", "--clear")
    assert not Budget.objects.exists()
    assert AuditEntry.objects.filter(object_type="budget", action="deleted").count() == 1
    assert "nothing to clear" in run("team", "Design", "--clear")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("team", "Nobody", "10"), "No team named 'Nobody'"),
        (("user", "ghost", "10"), "No user named 'ghost'"),
        (("global", "-5"), "dollars with at most 2 decimals"),
        (("global", "1.999"), "dollars with at most 2 decimals"),
        (("global", "１０"), "dollars with at most 2 decimals"),
        (("global",), "Give one AMOUNT"),
        (("team",), "Name the team"),
        (("global", "10", "--alert-at", "1.5"), "--alert-at '1.5'"),
        (("global", "10", "--alert-at", "zero"), "--alert-at 'zero'"),
    ],
)
def test_refuses_what_it_cannot_do_with_a_reason(team, owner, args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)
    assert not Budget.objects.exists()
