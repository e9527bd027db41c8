"""The provisioning API: staff onboard users, teams, budgets and tokens from a script
(non-staff get 403); everyone manages their own tokens. Every change is audited via api."""

from __future__ import annotations

import json
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.contrib.auth import get_user_model

from imagestudio.api.models import ApiToken
from imagestudio.audit.models import AuditEntry
from imagestudio.spend.models import Budget, Membership, Team
from tests.factories import (
    bearer,
    make_attempt,
    make_budget,
    make_generation,
    make_token,
    make_user,
)

pytestmark = pytest.mark.django_db
User = get_user_model()


class Api:
    def __init__(self, client, user) -> None:
        self.client = client
        self.headers = bearer(make_token(user, "test")[1])

    def __getattr__(self, method: str):
        def call(path: str, body=None, **params):
            url = f"/api/v1/{path}"
            if method == "get":
                return self.client.get(url, params, headers=self.headers)
            if params:
                url = f"{url}?{urlencode(params)}"
            return self.client.generic(
                method.upper(),
                url,
                "" if body is None else json.dumps(body),
                content_type="application/json",
                headers=self.headers,
            )

        return call


@pytest.fixture
def staff(client, admin_user):
    return Api(client, admin_user)


@pytest.fixture
def designer(client, owner):
    return Api(client, owner)


def error(response, status: int) -> dict:
    assert response.status_code == status, response.content
    return response.json()["error"]


# -- onboarding a team end to end -----------------------------------------------------------


def test_a_script_onboards_a_team(staff, client):
    alice = staff.post("users", {"username": "alice", "email": "alice@example.com"})
    assert alice.status_code == 201
    assert alice.json() == {
        "id": alice.json()["id"],
        "username": "alice",
        "email": "alice@example.com",
        "is_staff": False,
        "is_active": True,
        "teams": [],
    }
    bob = staff.post("users", {"username": "bob", "password": "a long passphrase 42"}).json()
    team = staff.post("teams", {"name": "Posters"})
    assert team.status_code == 201 and team.json()["members"] == []
    team_id = team.json()["id"]
    members = staff.post(f"teams/{team_id}/members", {"users": [alice.json()["id"], bob["id"]]})
    assert [m["username"] for m in members.json()["members"]] == ["alice", "bob"]
    budget = staff.put("budgets", {"scope": "team", "team": team_id, "monthly_usd": "12.50"})
    assert budget.status_code == 200
    assert budget.json()["monthly_usd"] == "12.50" and budget.json()["alert_at"] == 0.8
    token = staff.post("tokens", {"user": bob["id"], "name": "bob's laptop"})
    assert token.status_code == 201
    raw = token.json()["token"]
    # The new token works for bob, and bob is in the team.
    answer = client.get("/api/v1/generations", headers=bearer(raw))
    assert answer.status_code == 200
    listed = staff.get("users").json()["results"]
    assert {u["username"]: [t["name"] for t in u["teams"]] for u in listed}["bob"] == ["Posters"]
    audited = AuditEntry.objects.filter(via="api", actor_name="boss")
    assert set(audited.values_list("object_type", flat=True)) == {
        "user",
        "team",
        "membership",
        "budget",
        "api_token",
    }


# -- users ----------------------------------------------------------------------------------


def test_a_new_user_without_a_password_cannot_sign_in(staff):
    staff.post("users", {"username": "carol"})
    assert not User.objects.get(username="carol").has_usable_password()


def test_a_staff_user_can_be_created(staff):
    data = staff.post("users", {"username": "dana", "is_staff": True}).json()
    assert data["is_staff"] is True and User.objects.get(username="dana").is_staff


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "username"),
        ({"username": ""}, "username"),
        ({"username": "has space"}, "username"),
        ({"username": "eve", "email": "not-an-address"}, "email"),
        ({"username": "eve", "password": "123"}, "password"),
        ({"username": "eve", "is_staff": "yes"}, "is_staff"),
        ({"username": "eve", "is_superuser": True}, "is_superuser"),
        ({"username": 7}, "username"),
    ],
)
def test_create_user_refuses_bad_fields(staff, body, field):
    assert error(staff.post("users", body), 400)["field"] == field
    assert not User.objects.filter(username="eve").exists()


def test_a_taken_username_is_a_conflict(staff, owner):
    assert error(staff.post("users", {"username": "owner"}), 409)["code"] == "conflict"


def test_patch_deactivates_and_makes_staff_and_is_audited(staff, owner, client):
    _token, raw = make_token(owner)
    data = staff.patch(f"users/{owner.pk}", {"is_active": False, "email": "o@example.org"})
    assert data.status_code == 200
    assert (data.json()["is_active"], data.json()["email"]) == (False, "o@example.org")
    # A deactivated user's token stops working at once.
    assert client.get("/api/v1/generations", headers=bearer(raw)).status_code == 401
    entry = AuditEntry.objects.filter(object_type="user", action="changed").latest("id")
    assert entry.before == {"email": "owner@example.com", "is_active": True}
    assert entry.after == {"email": "o@example.org", "is_active": False}
    assert staff.patch(f"users/{owner.pk}", {"is_staff": True}).json()["is_staff"] is True


def test_patch_refuses_fields_it_does_not_change(staff, owner):
    assert error(staff.patch(f"users/{owner.pk}", {"username": "x"}), 400)["field"] == "username"
    assert error(staff.patch(f"users/{owner.pk}", {"is_staff": 1}), 400)["field"] == "is_staff"


def test_staff_cannot_demote_or_deactivate_themselves(staff, admin_user):
    assert error(staff.patch(f"users/{admin_user.pk}", {"is_staff": False}), 400)["field"] == (
        "is_staff"
    )
    assert error(staff.patch(f"users/{admin_user.pk}", {"is_active": False}), 400)
    admin_user.refresh_from_db()
    assert admin_user.is_staff and admin_user.is_active


def test_only_a_superuser_changes_a_superuser(client, admin_user):
    helper = make_user("helper", staff=True)
    api = Api(client, helper)
    assert error(api.patch(f"users/{admin_user.pk}", {"is_active": False}), 403)
    admin_user.refresh_from_db()
    assert admin_user.is_active


def test_patch_an_unknown_user_is_404(staff):
    assert error(staff.patch("users/999999", {"is_staff": True}), 404)["code"] == "not_found"
    assert error(staff.patch(f"users/{2**63}", {"is_staff": True}), 404)


# -- teams ----------------------------------------------------------------------------------


def test_team_names_are_unique_and_not_blank(staff, team):
    assert error(staff.post("teams", {"name": "Design"}), 409)["code"] == "conflict"
    assert error(staff.post("teams", {"name": "  "}), 400)["field"] == "name"
    assert error(staff.post("teams", {"name": "x" * 101}), 400)["field"] == "name"


def test_list_teams_shows_members(staff, team):
    results = staff.get("teams").json()["results"]
    assert results == [
        {
            "id": team.pk,
            "name": "Design",
            "members": [
                {"id": m.pk, "username": m.username} for m in team.members.order_by("username")
            ],
        }
    ]


def test_adding_members_twice_keeps_one_membership_and_refuses_unknown_users(
    staff, team, other_user
):
    staff.post(f"teams/{team.pk}/members", {"users": [other_user.pk, other_user.pk]})
    staff.post(f"teams/{team.pk}/members", {"users": [other_user.pk]})
    assert Membership.objects.filter(team=team, user=other_user).count() == 1
    refused = error(staff.post(f"teams/{team.pk}/members", {"users": [other_user.pk, 424242]}), 400)
    assert refused["field"] == "users" and "424242" in refused["message"]
    assert error(staff.post(f"teams/{team.pk}/members", {"users": ["1"]}), 400)["field"] == "users"
    assert error(staff.post("teams/999999/members", {"users": [other_user.pk]}), 404)


def test_removing_a_member(staff, team, teammate):
    assert staff.delete(f"teams/{team.pk}/members/{teammate.pk}").status_code == 204
    assert not team.members.filter(pk=teammate.pk).exists()
    assert error(staff.delete(f"teams/{team.pk}/members/{teammate.pk}"), 404)
    assert error(staff.delete(f"teams/999999/members/{teammate.pk}"), 404)
    assert AuditEntry.objects.filter(object_type="membership", action="deleted", via="api")


# -- budgets --------------------------------------------------------------------------------


def test_put_creates_then_replaces_and_get_shows_the_standing(staff, owner, team):
    generation = make_generation(owner, team=team)
    make_attempt(owner, team=team, generation=generation, amount="0.03")
    first = staff.put("budgets", {"scope": "team", "team": team.pk, "monthly_usd": "1"})
    assert first.json()["monthly_usd"] == "1.00"
    staff.put("budgets", {"scope": "team", "team": team.pk, "monthly_usd": "2.50", "alert_at": 0.9})
    assert Budget.objects.count() == 1
    staff.put("budgets", {"scope": "global", "monthly_usd": "100"})
    staff.put("budgets", {"scope": "user", "user": owner.pk, "monthly_usd": "5", "alert_at": 1})
    results = {b["scope"]: b for b in staff.get("budgets").json()["results"]}
    team_budget = results["team"]
    assert team_budget["name"] == "Design" and team_budget["team"] == team.pk
    assert team_budget["alert_at"] == 0.9
    assert team_budget["spent_usd"] == "0.03"
    # The queued generation is reserved at its model's price.
    assert team_budget["reserved_usd"] == "0.03"
    assert team_budget["left_usd"] == "2.44"
    assert team_budget["resets_on"].endswith("-01")
    assert results["global"]["name"] == "studio" and results["user"]["name"] == "owner"
    changed = AuditEntry.objects.filter(object_type="budget", action="changed").get()
    assert changed.before == {"monthly_cap": "1.00", "alert_at": "0.80"}
    assert changed.after == {"monthly_cap": "2.50", "alert_at": "0.90"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"monthly_usd": "10"}, "scope"),
        ({"scope": "planet", "monthly_usd": "10"}, "scope"),
        ({"scope": "team", "monthly_usd": "10"}, "team"),
        ({"scope": "team", "team": 999999, "monthly_usd": "10"}, "team"),
        ({"scope": "team", "team": "²", "monthly_usd": "10"}, "team"),
        ({"scope": "user", "user": True, "monthly_usd": "10"}, "user"),
        ({"scope": "global", "team": 1, "monthly_usd": "10"}, "team"),
        ({"scope": "global"}, "monthly_usd"),
        ({"scope": "global", "monthly_usd": 12.5}, "monthly_usd"),
        ({"scope": "global", "monthly_usd": "-1"}, "monthly_usd"),
        ({"scope": "global", "monthly_usd": "1.005"}, "monthly_usd"),
        ({"scope": "global", "monthly_usd": "１２"}, "monthly_usd"),
        ({"scope": "global", "monthly_usd": "1e3"}, "monthly_usd"),
        ({"scope": "global", "monthly_usd": "10", "alert_at": 0}, "alert_at"),
        ({"scope": "global", "monthly_usd": "10", "alert_at": 1.5}, "alert_at"),
        ({"scope": "global", "monthly_usd": "10", "alert_at": 0.805}, "alert_at"),
        ({"scope": "global", "monthly_usd": "10", "alert_at": True}, "alert_at"),
        ({"scope": "global", "monthly_usd": "10", "alert_at": "NaN"}, "alert_at"),
        ({"scope": "global", "monthly_usd": "10", "cap": "1"}, "cap"),
    ],
)
def test_put_refuses_bad_budgets(staff, body, field):
    assert error(staff.put("budgets", body), 400)["field"] == field
    assert not Budget.objects.exists()


def test_delete_a_budget_by_its_selector(staff, team):
    make_budget("10", team=team)
    assert error(staff.delete("budgets", scope="team", team=999999), 400)["field"] == "team"
    assert staff.delete("budgets", scope="team", team=team.pk).status_code == 204
    assert not Budget.objects.exists()
    assert error(staff.delete("budgets", scope="team", team=team.pk), 404)["code"] == "not_found"
    assert error(staff.delete("budgets"), 400)["field"] == "scope"


# -- non-staff and methods -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "users", None),
        ("post", "users", {"username": "mallory"}),
        ("patch", "users/1", {"is_staff": True}),
        ("get", "teams", None),
        ("post", "teams", {"name": "Mine"}),
        ("post", "teams/1/members", {"users": [1]}),
        ("delete", "teams/1/members/1", None),
        ("get", "budgets", None),
        ("put", "budgets", {"scope": "global", "monthly_usd": "1000"}),
        ("delete", "budgets", None),
    ],
)
def test_non_staff_get_403_and_change_nothing(designer, method, path, body):
    before = (User.objects.count(), Team.objects.count(), Budget.objects.count())
    response = getattr(designer, method)(path, body) if body else getattr(designer, method)(path)
    assert error(response, 403)["code"] == "forbidden"
    assert (User.objects.count(), Team.objects.count(), Budget.objects.count()) == before


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("delete", "users"),
        ("get", "users/1"),
        ("delete", "teams"),
        ("get", "teams/1/members"),
        ("get", "teams/1/members/1"),
        ("post", "budgets"),
        ("put", "tokens"),
        ("get", "tokens/1"),
    ],
)
def test_other_methods_are_405_with_allow(staff, method, path):
    response = getattr(staff, method)(path)
    assert error(response, 405)["code"] == "method_not_allowed" and response["Allow"]


def test_anonymous_gets_401(client):
    for path in ("users", "teams", "budgets", "tokens"):
        assert client.get(f"/api/v1/{path}").status_code == 401


def test_a_browser_session_needs_the_csrf_header(owner, admin_user):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(admin_user)
    response = browser.post("/api/v1/teams", {"name": "x"}, content_type="application/json")
    assert error(response, 403)["code"] == "csrf_failed"


# -- tokens ---------------------------------------------------------------------------------


def test_a_designer_creates_lists_and_revokes_their_own_tokens(designer, client, owner):
    made = designer.post("tokens", {"name": "laptop"})
    assert made.status_code == 201
    data = made.json()
    assert data["token"].startswith("ist_") and data["prefix"] == data["token"][:12]
    assert data["user"] == owner.pk and data["last_used_at"] is None
    listed = designer.get("tokens").json()["results"]
    assert "laptop" in [t["name"] for t in listed]
    assert all("token" not in t for t in listed)
    assert data["token"] not in designer.get("tokens").content.decode()
    assert designer.delete(f"tokens/{data['id']}").status_code == 204
    assert client.get("/api/v1/generations", headers=bearer(data["token"])).status_code == 401
    actions = AuditEntry.objects.filter(object_type="api_token", via="api", actor_name="owner")
    assert sorted(actions.values_list("action", flat=True)) == ["issued", "revoked"]


def test_a_designer_cannot_create_or_revoke_someone_elses_token(designer, other_user):
    assert error(designer.post("tokens", {"user": other_user.pk, "name": "x"}), 403)
    theirs, _raw = make_token(other_user)
    assert error(designer.delete(f"tokens/{theirs.pk}"), 404)["code"] == "not_found"
    assert ApiToken.objects.filter(pk=theirs.pk).exists()
    assert theirs.pk not in [t["id"] for t in designer.get("tokens").json()["results"]]


def test_staff_create_and_revoke_tokens_for_anyone(staff, other_user):
    made = staff.post("tokens", {"user": other_user.pk, "name": "ci"}).json()
    assert made["username"] == "other"
    assert staff.delete(f"tokens/{made['id']}").status_code == 204
    assert error(staff.post("tokens", {"user": 999999, "name": "ci"}), 400)["field"] == "user"
    other_user.is_active = False
    other_user.save()
    assert error(staff.post("tokens", {"user": other_user.pk, "name": "ci"}), 400)["field"] == (
        "user"
    )


@pytest.mark.parametrize(
    ("body", "field"), [({}, "name"), ({"name": ""}, "name"), ({"name": "n" * 101}, "name")]
)
def test_token_names_are_required(designer, body, field):
    assert error(designer.post("tokens", body), 400)["field"] == field


def test_revoking_an_unknown_token_is_404(designer):
    assert error(designer.delete("tokens/999999"), 404)


def test_budget_money_is_exact(staff):
    staff.put("budgets", {"scope": "global", "monthly_usd": "0.10"})
    assert Budget.objects.get().monthly_cap == Decimal("0.10")
