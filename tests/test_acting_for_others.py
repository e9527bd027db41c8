"""Nobody becomes somebody else: a staff member who is not a superuser cannot make, list
or revoke a superuser's API token (API, tokens page, admin), nor take a superuser's
account in the admin; the audit log names the real actor of a change made with a token."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from imagestudio.api.models import ApiToken
from imagestudio.audit.models import AuditEntry
from imagestudio.catalog import VIP
from tests.factories import bearer, make_token, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def boss(db):
    return make_user("boss", superuser=True)


@pytest.fixture
def clerk(db):
    """Staff with every permission the admin knows, but not a superuser."""
    user = make_user("clerk", staff=True)
    user.user_permissions.set(Permission.objects.all())
    return user


def api_as(user) -> Client:
    _token, raw = make_token(user)
    return Client(headers=bearer(raw))


def post(client: Client, path: str, body: dict):
    return client.post(f"/api/v1{path}", json.dumps(body), content_type="application/json")


def test_staff_cannot_make_a_token_for_a_superuser_but_a_superuser_can(boss, clerk, owner):
    assert post(api_as(clerk), "/tokens", {"user": boss.pk, "name": "x"}).status_code == 403
    assert not ApiToken.objects.filter(user=boss).exists()

    assert post(api_as(clerk), "/tokens", {"user": owner.pk, "name": "x"}).status_code == 201
    assert post(api_as(boss), "/tokens", {"user": clerk.pk, "name": "x"}).status_code == 201


def test_staff_neither_list_nor_revoke_a_superusers_token(boss, clerk, owner):
    theirs, _raw = make_token(boss)
    others, _raw = make_token(owner)
    clerk_api = api_as(clerk)

    listed = {row["id"] for row in clerk_api.get("/api/v1/tokens").json()["results"]}
    assert others.pk in listed and theirs.pk not in listed
    assert clerk_api.delete(f"/api/v1/tokens/{theirs.pk}").status_code == 404
    assert ApiToken.objects.filter(pk=theirs.pk).exists()
    assert api_as(boss).delete(f"/api/v1/tokens/{theirs.pk}").status_code == 204


def test_the_tokens_page_does_not_revoke_a_superusers_token_for_staff(boss, clerk):
    theirs, _raw = make_token(boss)
    page = Client()
    page.force_login(clerk)

    assert page.post(f"/account/tokens/{theirs.pk}/revoke").status_code == 404
    assert ApiToken.objects.filter(pk=theirs.pk).exists()


def test_the_admin_hides_superusers_and_the_superuser_flag_from_staff(boss, clerk):
    admin = Client()
    admin.force_login(clerk)

    assert admin.get(f"/admin/auth/user/{boss.pk}/change/").status_code == 302
    assert boss.username not in admin.get("/admin/auth/user/").content.decode()
    # Their own page shows the flag but cannot set it.
    page = admin.get(f"/admin/auth/user/{clerk.pk}/change/").content.decode()
    assert 'name="is_superuser"' not in page

    boss_admin = Client()
    boss_admin.force_login(boss)
    assert boss_admin.get(f"/admin/auth/user/{clerk.pk}/change/").status_code == 200


def test_the_admin_makes_no_tokens_and_shows_staff_no_superusers_token(boss, clerk, owner):
    theirs, _raw = make_token(boss)
    mine, _raw = make_token(owner)
    admin = Client()
    admin.force_login(clerk)

    assert admin.get("/admin/api/apitoken/add/").status_code == 403
    listing = admin.get("/admin/api/apitoken/").content.decode()
    assert mine.prefix in listing and theirs.prefix not in listing
    assert admin.post(f"/admin/api/apitoken/{theirs.pk}/delete/", {"post": "yes"}).status_code in (
        302,
        404,
    )
    assert ApiToken.objects.filter(pk=theirs.pk).exists()


def test_a_change_made_with_a_token_staff_made_for_someone_names_the_staff(clerk, owner):
    made = post(api_as(clerk), "/tokens", {"user": owner.pk, "name": "for owner"}).json()
    as_owner = Client(headers=bearer(made["token"]))

    assert post(as_owner, "/kits", {"name": "Made by the clerk", "model": VIP}).status_code == 201

    entry = AuditEntry.objects.filter(object_type="kit").latest("id")
    assert entry.actor_id == clerk.pk
    assert entry.actor_name == f"clerk (as {owner.username})"


def test_a_change_made_with_ones_own_token_names_its_owner(owner):
    made = post(api_as(owner), "/tokens", {"name": "mine"}).json()

    post(Client(headers=bearer(made["token"])), "/kits", {"name": "Mine", "model": VIP})

    entry = AuditEntry.objects.filter(object_type="kit").latest("id")
    assert (entry.actor_id, entry.actor_name) == (owner.pk, owner.username)
