"""Monthly budgets: what reserve() counts, what it refuses, and how the form, the page and
the API tell the designer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone

from imagestudio import catalog
from imagestudio.spend import budgets, charging
from imagestudio.spend.budgets import BudgetExceeded
from imagestudio.spend.models import Budget
from imagestudio.studio import services
from imagestudio.studio.models import Batch, Generation, Status
from tests.factories import (
    make_attempt,
    make_budget,
    make_finished,
    make_generation,
    make_team,
    picture_bytes,
)

pytestmark = pytest.mark.django_db
PRICE = catalog.gateway_price(catalog.ALL)


@pytest.fixture(autouse=True)
def _no_broker():
    with mock.patch("imagestudio.studio.services.enqueue"):
        yield


@pytest.fixture
def design(owner):
    return make_team("Design", owner)


def billed(user, amount="0.03", *, team=None, when=None, billed=True):
    outcome = "image" if billed else "saturated"
    amount = amount if billed else None  # an unbilled call costs nothing, whatever was asked
    return make_attempt(user, outcome, team=team, when=when, model=catalog.ALL, amount=amount)


def pending(user, n=1, *, team=None, status=Status.QUEUED):
    batch = Batch.objects.create(user=user, team=team)
    for _ in range(n):
        make_generation(user, batch=batch, team=team, model=catalog.ALL, status=status)


def request(count=1):
    return services.validate(model=catalog.ALL, prompt="a red bicycle", size="", count=count)


def test_no_budget_is_unlimited(owner):
    budgets.reserve(user=owner, team=None, model=catalog.ALL, count=10)


def test_cap_counts_spend_this_month_and_images_in_progress(owner, design):
    make_budget("0.15", team=design)
    billed(owner, team=design)  # $0.03 spent
    billed(owner, team=design, when=budgets.month_start() - timedelta(seconds=1))  # last month
    billed(owner, team=design, billed=False)  # a 429 costs nothing
    pending(owner, 1, team=design)  # $0.03 queued
    pending(owner, 1, team=design, status=Status.RUNNING)  # $0.03 running
    pending(owner, 5, team=design, status=Status.SUCCEEDED)  # done: in the ledger, not here
    budgets.reserve(user=owner, team=design, model=catalog.ALL, count=2)  # 0.09 + 0.06 fits
    with pytest.raises(BudgetExceeded) as exc:
        budgets.reserve(user=owner, team=design, model=catalog.ALL, count=3)
    d = exc.value.details
    assert (d["cap"], d["used"], d["reserved"], d["cost"]) == (
        Decimal("0.15"),
        Decimal("0.03"),
        Decimal("0.06"),
        Decimal("0.09"),
    )
    assert d["resets_on"] == budgets.next_month_start().date()


def test_refusal_message_names_cap_used_reserved_and_reset(owner, design):
    make_budget("5", team=design)
    billed(owner, "3.30", team=design)
    pending(owner, 55, team=design)
    with mock.patch(
        "imagestudio.spend.budgets.timezone.now",
        return_value=timezone.now().replace(year=2026, month=11, day=20),
    ):
        reset = budgets.next_month_start()
        with pytest.raises(BudgetExceeded) as exc:
            budgets.reserve(user=owner, team=design, model=catalog.ALL, count=2)
    assert reset == datetime(2026, 12, 1, tzinfo=UTC)
    assert exc.value.message == (
        "Your team Design's monthly budget is $5.00: $3.30 spent and $1.65 reserved for "
        "images in progress; this batch of 2 ($0.06) would go over. It resets on 2026-12-01. "
        "1 image would fit. An admin can raise the budget."
    )


def test_user_budget_and_global_budget_apply_too(owner, other_user):
    make_budget("0.03", user=owner)
    budgets.reserve(user=owner, team=None, model=catalog.ALL, count=1)
    with pytest.raises(BudgetExceeded, match="Your monthly budget is \\$0.03"):
        budgets.reserve(user=owner, team=None, model=catalog.ALL, count=2)
    make_budget("0.06")
    billed(owner, "0.06")
    with pytest.raises(BudgetExceeded, match="The studio's monthly budget"):
        budgets.reserve(user=other_user, team=None, model=catalog.ALL, count=1)


def test_a_users_budget_does_not_count_someone_elses_spend(owner, other_user):
    make_budget("0.03", user=owner)
    billed(other_user, "10")
    pending(other_user, 5)
    budgets.reserve(user=owner, team=None, model=catalog.ALL, count=1)


def test_only_staff_can_override(owner, admin_user):
    make_budget("0")
    with pytest.raises(BudgetExceeded):
        budgets.reserve(user=owner, team=None, model=catalog.ALL, count=1, override=True)
    budgets.reserve(user=admin_user, team=None, model=catalog.ALL, count=1, override=True)
    with pytest.raises(BudgetExceeded):
        budgets.reserve(user=admin_user, team=None, model=catalog.ALL, count=1)


def test_submit_refused_writes_nothing(owner, design):
    make_budget("0.05", team=design)
    services.submit(owner, request(1), team=charging.charged_team(owner))
    with pytest.raises(BudgetExceeded):
        services.submit(owner, request(1), team=charging.charged_team(owner))
    assert Generation.objects.count() == 1 and Batch.objects.count() == 1
    assert Generation.objects.get().team == design  # the first team by default


def test_submit_charges_the_chosen_team(owner, design):
    other = make_team("Video", owner)
    make_budget("0", team=design)
    _batch, rows = services.submit(owner, request(2), team=other)
    assert {g.team for g in rows} == {other}


# --- the studio form ----------------------------------------------------------------------
def test_form_refusal_is_shown_next_to_generate(owner_client, owner, design):
    make_budget("0.03", team=design)
    data = {"prompt": "a red bicycle", "model": catalog.ALL, "size": "", "count": "2"}
    response = owner_client.post(reverse("studio:generate"), data)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Your team Design&#x27;s monthly budget is $0.03" in body
    assert Generation.objects.count() == 0


def test_form_team_must_be_one_of_mine(owner_client, owner, design, other_user):
    theirs = make_team("Theirs", other_user)
    data = {"prompt": "a red bicycle", "model": catalog.ALL, "count": "1", "team": theirs.pk}
    response = owner_client.post(reverse("studio:generate"), data)
    assert "Choose one of your teams." in response.content.decode()
    assert Generation.objects.count() == 0
    data["team"] = design.pk
    owner_client.post(reverse("studio:generate"), data)
    assert Generation.objects.get().team == design


def test_form_override_only_for_staff(client, owner, admin_user):
    make_budget("0")
    data = {"prompt": "a red bicycle", "model": catalog.ALL, "count": "1", "override_budget": "on"}
    client.force_login(owner)
    client.post(reverse("studio:generate"), data)
    assert Generation.objects.count() == 0
    client.force_login(admin_user)
    response = client.post(reverse("studio:generate"), data)
    assert response.status_code == 302
    assert Generation.objects.count() == 1


def test_studio_page_shows_team_picker_spend_and_remaining(owner_client, owner, design):
    make_budget("5", team=design)
    make_budget("1", user=owner)
    billed(owner, "0.30", team=design)
    body = owner_client.get(reverse("studio:home")).content.decode()
    assert 'name="team"' in body and ">Design</option>" in body
    assert "Your spend this month: <strong>$0.30</strong>" in body
    assert "Your budget: $0.70 left of $1.00" in body
    assert "Team Design: $4.70 left of $5.00" in body
    assert 'name="override_budget"' not in body  # not staff
    assert reverse("spend:mine") in body


def test_live_check_warns_before_submitting(owner_client, owner, design):
    make_budget("0.06", team=design)
    data = {"prompt": "x", "model": catalog.ALL, "count": "3"}
    body = owner_client.post(reverse("studio:check"), data).content.decode()
    assert "Over budget" in body and "this batch of 3 ($0.09) would go over" in body
    data["count"] = "2"
    assert "Over budget" not in owner_client.post(reverse("studio:check"), data).content.decode()


# --- the API ------------------------------------------------------------------------------
def api_post(client, body):
    return client.post(reverse("api:generations"), body, content_type="application/json")


def test_api_refusal_is_402_with_figures(owner_client, owner, design):
    make_budget("0.05", team=design)
    billed(owner, "0.02", team=design)
    response = api_post(owner_client, {"model": catalog.ALL, "prompt": "x", "count": 2})
    assert response.status_code == 402
    error = response.json()["error"]
    assert error["code"] == "budget_exceeded"
    assert "monthly budget is $0.05" in error["message"]
    assert (error["cap"], error["used"], error["reserved"], error["cost"]) == (
        "0.05",
        "0.02",
        "0.00",
        "0.06",
    )
    assert error["resets_on"] == budgets.next_month_start().date().isoformat()


def test_api_team_and_override(owner_client, owner, design, other_user):
    theirs = make_team("Theirs")
    response = api_post(owner_client, {"model": catalog.ALL, "prompt": "x", "team": theirs.pk})
    assert response.status_code == 400 and response.json()["error"]["field"] == "team"
    response = api_post(owner_client, {"model": catalog.ALL, "prompt": "x", "team": "1"})
    assert response.status_code == 400
    response = api_post(
        owner_client, {"model": catalog.ALL, "prompt": "x", "override_budget": True}
    )
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "override_budget"
    response = api_post(owner_client, {"model": catalog.ALL, "prompt": "x", "team": design.pk})
    assert response.status_code == 202
    assert Generation.objects.get().team == design


def test_api_staff_override(admin_client_):
    make_budget("0")
    body = {"model": catalog.ALL, "prompt": "x"}
    assert api_post(admin_client_, body).status_code == 402
    assert api_post(admin_client_, {**body, "override_budget": True}).status_code == 202


def test_budget_admin_pages(admin_client_, design):
    make_budget("5", team=design)
    assert admin_client_.get("/admin/spend/budget/").status_code == 200
    assert admin_client_.get(f"/admin/spend/team/{design.pk}/change/").status_code == 200


def test_retry_over_budget_says_so_on_the_detail_page(owner_client, owner):
    batch = Batch.objects.create(user=owner)
    failed = Generation.objects.create(
        user=owner, batch=batch, model=catalog.ALL, prompt="p", size_tier="2k", status="failed"
    )
    make_budget("0", user=owner)
    response = owner_client.post(reverse("studio:retry", args=[failed.pk]), follow=True)
    assert response.status_code == 200
    assert "Your monthly budget is $0.00" in response.content.decode()
    assert Generation.objects.count() == 1


def test_api_edits_and_iterate_over_budget_are_402(owner):
    from tests.test_api_edits import Api, post_edit

    api = Api(owner)
    root = make_finished(owner)
    make_budget("0", user=owner)
    response = post_edit(
        api,
        [
            ("model", catalog.VIP),
            ("prompt", "put it on a mug"),
            ("image", ("mug.jpg", picture_bytes())),
        ],
    )
    assert response.status_code == 402
    assert response.json()["error"]["code"] == "budget_exceeded"
    response = api.post(f"/api/v1/generations/{root.pk}/iterate", {"prompt": "make it blue"})
    assert response.status_code == 402
    assert Generation.objects.count() == 1


def test_budget_rows_are_consistent(owner, design):
    from django.db import IntegrityError, transaction

    make_budget("10")
    for bad in (
        {"scope": "global", "monthly_cap": Decimal("5")},  # a second global cap
        {"scope": "team", "monthly_cap": Decimal("5")},  # a team cap without a team
        {"scope": "user", "team": design, "monthly_cap": Decimal("5")},
        {"scope": "user", "user": owner, "monthly_cap": Decimal("-1")},
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            Budget.objects.create(**bad)


def test_a_refusal_names_who_can_raise_the_budget_and_how_many_would_fit(owner):
    from tests.factories import make_user

    make_user("boss", staff=True, first_name="Lin", last_name="Wei")
    make_budget("0.05", user=owner)
    refusal = budgets.check(
        user=owner, team=None, model=catalog.VIP, count=3, size=catalog.DEFAULT_VIP_SIZE
    )
    assert refusal is not None
    assert "1 image would fit." in refusal.message
    assert "An admin can raise the budget: Lin Wei." in refusal.message
    assert refusal.details["fits"] == 1
