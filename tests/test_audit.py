"""The audit log: every change to users, teams and memberships, budgets, pre-filter terms
and categories, kits and API tokens is an append-only row (who, when, what, before →
after, from where), from the admin, the API, commands and pages alike; staff read it on
/audit/ (with filters and CSV) and from GET /api/v1/audit."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from imagestudio import catalog
from imagestudio.audit.models import AppendOnlyError, AuditEntry
from imagestudio.audit.trail import Via, acting
from imagestudio.prefilter.models import Category, Term
from imagestudio.spend.models import Membership, Team
from tests.factories import (
    PASSWORD,
    bearer,
    make_budget,
    make_kit,
    make_team,
    make_token,
    make_user,
)

pytestmark = pytest.mark.django_db
API = "/api/v1/audit"


def entries(object_type: str | None = None) -> list[AuditEntry]:
    rows = AuditEntry.objects.order_by("id")
    return list(rows.filter(object_type=object_type) if object_type else rows)


def last(object_type: str) -> AuditEntry:
    return entries(object_type)[-1]


# -- what is recorded, from where -----------------------------------------------------------


def test_making_someone_staff_in_the_admin_is_recorded_with_who_and_from_where(
    admin_client_, admin_user, owner
):
    url = reverse("admin:auth_user_change", args=[owner.pk])
    form = {
        "username": owner.username,
        "email": owner.email,
        "is_active": "on",
        "is_staff": "on",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
        "initial-date_joined_0": "2026-01-01",
        "initial-date_joined_1": "00:00:00",
    }
    response = admin_client_.post(url, form, REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 302, response.content.decode()[:2000]
    entry = last("user")
    assert (entry.action, entry.via, entry.actor_name) == ("changed", "admin", "boss")
    assert entry.actor_id == admin_user.pk
    assert entry.address == "10.1.2.3"
    assert entry.object_id == str(owner.pk) and entry.object_repr == "owner"
    assert entry.before == {"is_staff": False} and entry.after == {"is_staff": True}


def test_signing_in_records_nothing(client, owner):
    before = AuditEntry.objects.count()
    assert client.login(username="owner", password=PASSWORD)
    assert AuditEntry.objects.count() == before


def test_a_password_change_is_recorded_without_the_hash(owner):
    owner.set_password("a new long passphrase")
    owner.save()
    entry = last("user")
    assert entry.before == {"password": "(old)"} and entry.after == {"password": "(new)"}
    assert "md5" not in str(entry.after) and "pbkdf2" not in str(entry.after)


def test_a_new_user_is_recorded_without_the_hash():
    make_user("newcomer")
    entry = last("user")
    assert entry.action == "created" and entry.after["username"] == "newcomer"
    assert entry.after["password"] == "(set)"


def test_teams_and_memberships_are_recorded_added_in_bulk_or_one_by_one(owner, other_user):
    with acting(via=Via.WEB, actor=owner):
        team = make_team("Print", owner)
        team.members.add(other_user)
        team.name = "Print shop"
        team.save()
        Membership.objects.get(team=team, user=owner).delete()
    made, renamed = entries("team")
    assert made.action == "created" and made.after == {"name": "Print"}
    assert renamed.before == {"name": "Print"} and renamed.after == {"name": "Print shop"}
    joined_owner, joined_other, left = entries("membership")
    assert joined_owner.after == {"team": team.pk, "user": owner.pk}
    assert joined_other.action == "created" and joined_other.after["user"] == other_user.pk
    assert (left.action, left.before) == ("deleted", {"team": team.pk, "user": owner.pk})
    assert {e.via for e in entries("team") + entries("membership")} == {"web"}
    assert {e.actor_name for e in entries("membership")} == {"owner"}


def test_a_budget_change_shows_the_old_and_new_cap(team):
    budget = make_budget("100", team=team)
    budget.monthly_cap = "250.00"
    budget.save()
    created, changed = entries("budget")
    assert created.after["monthly_cap"] == "100" and created.after["team"] == team.pk
    assert changed.before == {"monthly_cap": "100.00"} and changed.after == {
        "monthly_cap": "250.00"
    }
    budget.delete()
    assert last("budget").action == "deleted"


def test_prefilter_terms_and_categories_are_recorded():
    category = Category.objects.create(key="ip", name="IP", action="warn")
    term = Term.objects.create(category=category, term="mickey")
    term.enabled = False
    term.save()
    category.action = "block"
    category.save()
    assert [e.action for e in entries("prefilter_term")] == ["created", "changed"]
    assert last("prefilter_term").after == {"enabled": False}
    assert last("prefilter_category").after == {"action": "block"}


def test_kits_are_recorded(owner, team):
    kit = make_kit(owner, "Summer", team=team)
    kit.style = "pastel, flat"
    kit.save()
    kit.delete()
    created, changed, deleted = entries("kit")
    assert created.after["name"] == "Summer" and created.after["team"] == team.pk
    assert changed.after == {"style": "pastel, flat"}
    assert deleted.action == "deleted" and deleted.before["name"] == "Summer"


def test_tokens_issued_by_the_command_and_revoked_are_recorded(owner):
    call_command("issue_api_token", "owner", name="ci", stdout=io.StringIO())
    issued = last("api_token")
    assert (issued.action, issued.via, issued.actor_name) == ("issued", "command", "")
    assert issued.after["name"] == "ci" and issued.after["user"] == owner.pk
    issued_token = owner.api_tokens.get()
    assert set(issued.after) == {"user", "name", "prefix"}  # never the hash
    issued_token.delete()
    assert last("api_token").action == "revoked"


def test_using_a_token_records_nothing(client, owner):
    _token, raw = make_token(owner)
    before = AuditEntry.objects.count()
    assert client.get("/api/v1/generations", headers=bearer(raw)).status_code == 200
    assert AuditEntry.objects.count() == before


def test_a_rolled_back_change_leaves_no_entry(team):
    from django.db import transaction

    before = AuditEntry.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        Team.objects.create(name="Ghost")
        raise RuntimeError("rolled back")
    assert AuditEntry.objects.count() == before


# -- append-only ----------------------------------------------------------------------------


def test_entries_cannot_be_edited_or_deleted_through_the_models(team):
    entry = last("team")
    entry.object_repr = "forged"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).update(object_repr="forged")
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.get(pk=entry.pk).object_repr == "Design"


def test_the_admin_shows_entries_but_cannot_add_change_or_delete_them(admin_client_, team):
    entry = last("team")
    assert admin_client_.get(reverse("admin:audit_auditentry_changelist")).status_code == 200
    assert admin_client_.get(reverse("admin:audit_auditentry_add")).status_code == 403
    delete = reverse("admin:audit_auditentry_delete", args=[entry.pk])
    assert admin_client_.post(delete, {"post": "yes"}).status_code == 403
    change = reverse("admin:audit_auditentry_change", args=[entry.pk])
    admin_client_.post(change, {"object_repr": "forged"})
    assert AuditEntry.objects.get(pk=entry.pk).object_repr == "Design"


# -- the staff page -------------------------------------------------------------------------


PAGE = "/audit/"


def test_the_page_lists_entries_for_staff(admin_client_, team):
    html = admin_client_.get(PAGE).content.decode()
    assert "Audit log" in html and "Design" in html and "membership" in html


def changes_said(html: str) -> list[str]:
    """The text of each change on the page, one per line item, spaces squeezed."""
    items = re.findall(r'<ul class="changes">(.*?)</ul>', html, re.S)
    said = [
        re.sub(r"<[^>]+>", "", li)
        for block in items
        for li in re.findall(r"<li>(.*?)</li>", block, re.S)
    ]
    return [" ".join(text.split()) for text in said]


@pytest.fixture
def changed_things(owner):
    team = make_team("市场部", owner)
    budget = make_budget("100", team=team)
    budget.monthly_cap = "250.00"
    budget.alert_at = "0.50"
    budget.save()
    owner.is_staff = True
    owner.set_password("another-secret-9")
    owner.save()
    make_user("newcomer")
    Term.objects.create(
        category=Category.objects.create(key="ip", name="IP", action="block"), term="mickey"
    )
    return team


def test_the_page_says_each_change_in_the_readers_language(admin_client_, changed_things):
    html = admin_client_.get(PAGE, headers={"Accept-Language": "zh-hans"}).content.decode()
    said = changes_said(html)

    assert "每月上限（美元）：$100.00 → $250.00" in said
    assert "提醒比例：80 % → 50 %" in said
    assert "范围：团队" in said and "团队：市场部" in said
    assert "工作人员状态：否 → 是" in said
    assert "密码：已更改" in said and "密码：已设置" in said
    assert "处理方式：屏蔽（提示词在发送前即被拒绝）" in said
    assert "类别：IP" in said
    assert "团队 市场部：每月 $250.00" in html  # the budget by its name, not "team …/month"
    raw = re.compile(r"\b(null|true|false|set|new|old|none|team|block|scope)\b|\(set\)")
    assert not [s for s in said if raw.search(s)]


def test_the_page_says_each_change_in_english_too(admin_client_, changed_things):
    said = changes_said(admin_client_.get(PAGE, headers={"Accept-Language": "en"}).content.decode())

    assert "Monthly cap (USD): $100.00 → $250.00" in said
    assert "Staff status: no → yes" in said
    assert "Password: changed" in said and "Password: set" in said
    assert "Scope: Team" in said


def test_a_kits_preset_and_phrasing_are_said_by_their_labels(admin_client_, owner):
    phrasing = catalog.ALL_PHRASINGS[0]
    make_kit(owner, "夏季", preset="poster", model=catalog.ALL, size=phrasing.value)
    said = changes_said(
        admin_client_.get(PAGE, headers={"Accept-Language": "zh-hans"}).content.decode()
    )

    assert "预设：海报（2:3）" in said
    assert f"尺寸：{phrasing.label}" in said
    assert not [s for s in said if "poster" in s]


def test_a_change_naming_a_deleted_row_shows_its_id(admin_client_, owner):
    team = make_team("Gone", owner)
    budget = make_budget("10", team=team)
    team_id = team.pk
    budget.delete()
    team.delete()
    said = changes_said(admin_client_.get(PAGE, headers={"Accept-Language": "en"}).content.decode())

    assert f"Team: #{team_id} (deleted)" in said


def test_the_page_names_related_rows_in_a_few_queries(
    admin_client_, owner, django_assert_max_num_queries
):
    for n in range(20):
        make_budget(str(n + 1), team=make_team(f"T{n}", owner))
    with django_assert_max_num_queries(12):
        admin_client_.get(PAGE)


def test_the_page_is_403_for_non_staff_and_sends_anonymous_to_sign_in(owner_client):
    assert owner_client.get(PAGE).status_code == 403
    response = Client().get(PAGE)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_page_is_get_only(admin_client_):
    assert admin_client_.post(PAGE).status_code == 405


def test_an_unknown_page_url_is_404(admin_client_):
    assert admin_client_.get("/audit/nothing-here/").status_code == 404


def test_the_page_filters_by_actor_type_and_days(admin_client_, owner, other_user):
    with acting(via=Via.WEB, actor=owner):
        make_team("Owner's team")
    with acting(via=Via.WEB, actor=other_user):
        make_team("Other's team")
        make_budget("5")
    html = admin_client_.get(PAGE, {"actor": "owner"}).content.decode()
    assert "Owner&#x27;s team" in html and "Other&#x27;s team" not in html
    html = admin_client_.get(PAGE, {"object_type": "budget"}).content.decode()
    assert "the studio" in html and "Owner&#x27;s team" not in html
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    html = admin_client_.get(PAGE, {"from": tomorrow}).content.decode()
    assert "Nothing recorded" in html


def test_bad_filters_are_dropped_with_a_message_not_a_500(admin_client_, team):
    response = admin_client_.get(
        PAGE, {"from": "２０２６-01-01", "to": "9999-12-31", "object_type": "x"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "must be a date" in html and "Unknown object_type" in html and "Design" in html


def test_the_csv_neutralises_hostile_names(admin_client_):
    make_team('=HYPERLINK("http://evil")')
    response = admin_client_.get(PAGE, {"format": "csv", "object_type": "team"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["time_utc", "actor", "via"]
    assert rows[1][7] == '\'=HYPERLINK("http://evil")'
    assert rows[1][5] == "team" and rows[1][4] == "created"


# -- the API --------------------------------------------------------------------------------


@pytest.fixture
def staff_token(admin_user):
    return bearer(make_token(admin_user)[1])


def test_the_api_lists_entries_newest_first_with_filters(client, staff_token, owner):
    with acting(via=Via.API, actor=owner):
        make_team("Alpha")
        make_budget("12.50")
    data = client.get(API, {"actor": "owner"}, headers=staff_token).json()
    assert [e["object_type"] for e in data["results"]] == ["budget", "team"]
    budget = data["results"][0]
    assert budget["actor"] == "owner" and budget["via"] == "api" and budget["action"] == "created"
    assert budget["after"]["monthly_cap"] == "12.50"
    assert data["next"] is None
    data = client.get(API, {"object_type": "team", "actor": "owner"}, headers=staff_token).json()
    assert [e["object"] for e in data["results"]] == ["Alpha"]


def test_the_api_pages_with_a_cursor(client, staff_token):
    for n in range(101):
        Team.objects.create(name=f"team {n:03}")
    first = client.get(API, {"object_type": "team"}, headers=staff_token).json()
    assert len(first["results"]) == 100 and "object_type=team" in first["next"]
    second = client.get(first["next"], headers=staff_token).json()
    assert [e["object"] for e in second["results"]] == ["team 000"]
    assert second["next"] is None


def test_the_api_is_403_for_non_staff_and_401_without_a_token(client, owner):
    response = client.get(API, headers=bearer(make_token(owner)[1]))
    assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden"
    assert client.get(API).status_code == 401


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "yesterday"}, "from"),
        ({"from": "2026-02-01", "to": "2026-01-01"}, "to"),
        ({"object_type": "generation"}, "object_type"),
        ({"cursor": "nonsense"}, "cursor"),
    ],
)
def test_the_api_refuses_bad_filters(client, staff_token, params, field):
    response = client.get(API, params, headers=staff_token)
    assert response.status_code == 400 and response.json()["error"]["field"] == field


def test_the_api_is_get_only(client, staff_token):
    assert client.post(API, headers=staff_token).status_code == 405


def test_the_filters_offer_every_tracked_type():
    from imagestudio.audit.signals import object_types

    assert set(object_types()) == {
        "fallback_chain",
        "user",
        "team",
        "membership",
        "budget",
        "prefilter_category",
        "prefilter_term",
        "kit",
        "api_token",
        "route_setting",
        "reconciliation_threshold",
    }
