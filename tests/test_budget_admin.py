"""The budget admin: spent and left beside each cap, and a budget whose owner does not fit
its scope refused beside the field to fix, in words."""

from __future__ import annotations

from decimal import Decimal

import pytest

from imagestudio.spend.models import Budget
from tests.factories import make_attempt, make_budget

pytestmark = pytest.mark.django_db


def test_the_list_shows_spent_and_left_beside_each_cap(admin_client_, owner, team):
    make_budget("10", team=team)
    make_attempt(owner, team=team)  # one billed call: $0.03

    page = admin_client_.get("/admin/spend/budget/").content.decode()

    assert "Spent this month" in page and "Left this month" in page
    assert "$0.03" in page
    assert "$9.97" in page


@pytest.mark.parametrize(
    ("scope", "owner_fields", "field", "words"),
    [
        ("team", {}, "team", "A team budget needs a team"),
        ("user", {}, "user", "A user budget needs a user"),
        ("user", {"team": "TEAM"}, "team", "A user budget has no team"),
        ("global", {"user": "USER"}, "user", "for everyone"),
    ],
)
def test_a_scope_without_its_owner_says_which_field_to_fix(
    admin_client_, owner, team, scope, owner_fields, field, words
):
    ids = {"TEAM": str(team.pk), "USER": str(owner.pk)}
    data = {
        "scope": scope,
        "team": "",
        "user": "",
        "monthly_cap": "50",
        "alert_at": "0.8",
        **{k: ids[v] for k, v in owner_fields.items()},
    }

    response = admin_client_.post("/admin/spend/budget/add/", data)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert words in " ".join(errors[field])
    assert not Budget.objects.exists()


def test_a_second_studio_budget_is_refused_in_words(admin_client_):
    make_budget("100")

    response = admin_client_.post(
        "/admin/spend/budget/add/",
        {"scope": "global", "team": "", "user": "", "monthly_cap": "5", "alert_at": "0.8"},
    )

    assert "already has a budget" in " ".join(response.context["adminform"].form.errors["scope"])
    assert Budget.objects.get().monthly_cap == Decimal("100")
