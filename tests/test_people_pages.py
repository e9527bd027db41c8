"""The staff's people pages: users, teams and members, budgets. Their rules are the API's
(accounts.provisioning); these tests check the pages apply them, say so, and audit."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client

from imagestudio.audit.models import AuditEntry
from imagestudio.spend.models import Budget, Membership, Team
from tests.factories import make_attempt, make_budget, make_user

pytestmark = pytest.mark.django_db
User = get_user_model()


@pytest.fixture
def staff():
    return make_user("lead", staff=True)


@pytest.fixture
def staff_client(staff):
    client = Client()
    client.force_login(staff)
    return client


@pytest.mark.parametrize("path", ["/people/", "/people/teams/", "/people/budgets/"])
def test_the_people_pages_are_for_staff_only(path, owner_client, staff_client):
    assert owner_client.get(path).status_code == 403
    assert Client().get(path).status_code == 302
    page = staff_client.get(path, headers={"Accept-Language": "zh-hans"})
    assert page.status_code == 200
    assert "人员" in page.content.decode()


def test_staff_invite_someone_by_e_mail_to_set_a_password(
    staff_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            "/people/", {"username": "nia", "email": "nia@company.test", "invite": "on"}
        )

    assert response.status_code == 302
    nia = User.objects.get(username="nia")
    assert not nia.has_usable_password() and not nia.is_staff
    [sent] = mail.outbox
    assert sent.to == ["nia@company.test"]
    assert "http://testserver/accounts/reset/" in sent.body
    created = AuditEntry.objects.get(object_type="user", action="created", object_id=nia.pk)
    assert created.actor_name == "lead" and created.via == "web"


def test_an_invitation_without_an_address_is_refused_beside_the_field(staff_client):
    response = staff_client.post("/people/", {"username": "oli", "invite": "on"})

    assert response.status_code == 400
    assert "An invitation needs an e-mail address." in response.content.decode()
    assert not User.objects.filter(username="oli").exists()


def test_a_taken_name_is_said_and_nothing_is_added(staff_client, owner):
    response = staff_client.post("/people/", {"username": "owner", "password": "x" * 12})
    assert response.status_code == 400
    assert "There is already a user named" in response.content.decode()
    assert User.objects.filter(username="owner").count() == 1


def test_staff_create_a_user_with_a_password_who_can_sign_in(staff_client):
    response = staff_client.post(
        "/people/", {"username": "pat+1", "password": "a long test password"}
    )
    assert response["Location"] == "/people/?q=pat%2B1"
    assert "pat+1" in staff_client.get(response["Location"]).content.decode()
    assert Client().login(username="pat+1", password="a long test password")


def test_deactivating_someone_ends_their_sessions_and_tokens(staff_client, owner, owner_client):
    from tests.factories import bearer, make_token

    _, raw = make_token(owner)
    response = staff_client.post(f"/people/users/{owner.pk}/", {"change": "deactivate"})

    assert response.status_code == 302
    owner.refresh_from_db()
    assert not owner.is_active
    assert owner_client.get("/account/").status_code == 302
    assert Client().get("/api/v1/tokens", headers=bearer(raw)).status_code == 401
    entry = AuditEntry.objects.get(object_type="user", action="changed")
    assert entry.before == {"is_active": True} and entry.after == {"is_active": False}


def test_staff_cannot_touch_a_superuser_nor_make_one(staff_client, admin_user, owner):
    page = staff_client.get("/people/").content.decode()
    assert "Make superuser" not in page

    touched = staff_client.post(f"/people/users/{admin_user.pk}/", {"change": "deactivate"})
    made = staff_client.post(f"/people/users/{owner.pk}/", {"change": "make_superuser"})

    assert touched.status_code == 403 and made.status_code == 403
    admin_user.refresh_from_db()
    owner.refresh_from_db()
    assert admin_user.is_active and not owner.is_superuser


def test_a_superuser_may_make_a_superuser(admin_client_, owner):
    assert "Make superuser" in admin_client_.get("/people/").content.decode()
    admin_client_.post(f"/people/users/{owner.pk}/", {"change": "make_superuser"})
    owner.refresh_from_db()
    assert owner.is_superuser


def test_nobody_takes_away_their_own_staff_flag(staff_client, staff):
    response = staff_client.post(f"/people/users/{staff.pk}/", {"change": "remove_staff"})
    assert response.status_code == 302
    staff.refresh_from_db()
    assert staff.is_staff
    follow = staff_client.get(response["Location"]).content.decode()
    assert "You cannot take away your own staff flag" in follow


def test_an_unknown_change_or_user_is_refused(staff_client, owner):
    assert staff_client.post(f"/people/users/{owner.pk}/", {"change": "x"}).status_code == 400
    assert staff_client.post("/people/users/999999/", {"change": "activate"}).status_code == 404
    assert staff_client.get(f"/people/users/{owner.pk}/").status_code == 405


def test_staff_add_a_team_and_change_its_members(staff_client, owner):
    assert staff_client.post("/people/teams/", {"name": "Video"}).status_code == 302
    video = Team.objects.get(name="Video")
    assert staff_client.post("/people/teams/", {"name": "Video"}).status_code == 400

    staff_client.post(f"/people/teams/{video.pk}/members/", {"user": owner.pk})
    assert list(video.members.all()) == [owner]
    page = staff_client.get("/people/teams/").content.decode()
    assert "Take owner out of Video" in page

    staff_client.post(f"/people/teams/{video.pk}/members/{owner.pk}/remove/")
    assert not Membership.objects.filter(team=video).exists()
    assert (
        staff_client.post(f"/people/teams/{video.pk}/members/{owner.pk}/remove/").status_code == 404
    )
    kinds = list(
        AuditEntry.objects.filter(object_type="membership")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert kinds == ["created", "deleted"]


def test_budgets_show_spent_reserved_and_left(staff_client, owner, team):
    make_budget("50.00", team=team)
    make_attempt(owner, team=team, amount=Decimal("12.25"), billed=True)

    page = staff_client.get("/people/budgets/").content.decode()

    assert "$50.00" in page and "$12.25" in page and "$37.75" in page
    assert "80 %" in page


def test_staff_set_a_budget_and_its_threshold_then_remove_it(staff_client, team):
    response = staff_client.post(
        "/people/budgets/",
        {"scope": "team", "team": team.pk, "monthly_usd": "120", "alert_at": "0.5"},
    )
    assert response.status_code == 302
    budget = Budget.objects.get(team=team)
    assert budget.monthly_cap == Decimal("120.00") and budget.alert_at == Decimal("0.50")

    bad = staff_client.post(
        "/people/budgets/", {"scope": "team", "monthly_usd": "12", "alert_at": "1.5"}
    )
    assert bad.status_code == 400
    text = bad.content.decode()
    assert "A team budget needs a team" in text and "at most 1" in text

    staff_client.post(f"/people/budgets/{budget.pk}/delete/")
    assert not Budget.objects.exists()
    assert AuditEntry.objects.filter(object_type="budget", action="deleted").exists()
