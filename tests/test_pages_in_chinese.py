"""Every page rendered in zh-hans: no known English UI word left in what a person reads
(text, labels, placeholders, titles). The rows' own content is Chinese here, so any English
word found is the studio's."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from imagestudio import catalog
from imagestudio.audit.models import AuditEntry
from imagestudio.studio.models import Generation, Kind
from tests.factories import (
    make_attempt,
    make_board,
    make_budget,
    make_finished,
    make_generation,
    make_kit,
    make_team,
    make_user,
)

pytestmark = pytest.mark.django_db

# Words of the studio's own interface (not model names, units or the brand).
ENGLISH = {
    "Generate",
    "Gallery",
    "Delete",
    "Download",
    "Cancel",
    "Retry",
    "Prompt",
    "Model",
    "Size",
    "Images",
    "Sign",
    "Boards",
    "Board",
    "Star",
    "Starred",
    "Details",
    "Queued",
    "Running",
    "Succeeded",
    "Failed",
    "Billed",
    "Spend",
    "Save",
    "Edit",
    "Search",
    "Team",
    "Budget",
    "Preview",
    "Template",
    "Waiting",
    "Generating",
    "usually",
    "Continue",
    "Branch",
    "Copy",
    "Back",
    "Any",
    "Newest",
    "Oldest",
    "Select",
    "Compare",
    "Close",
    "Next",
    "Previous",
    "Apply",
    "Batch",
    "Kit",
    "Brand",
    "Tokens",
    "Language",
    "Menu",
    "image",
    "images",
    # Failure and refusal explanations, budget notices.
    "gateway",
    "Nothing",
    "billed",
    "Press",
    "try",
    "tries",
    "prompt",
    "overloaded",
    "declined",
    "worker",
    "Lost",
    "Timeout",
    "Refused",
    "Soft",
    "refusal",
    # The admin's app and model names, the audit log's types and scopes.
    "Studio",
    "Accounts",
    "Campaigns",
    "Audit",
    "Routes",
    "Teams",
    "Budgets",
    "Attempts",
    "Generations",
    "Stars",
    "Categories",
    "Terms",
    "Whole",
    "studio",
    # Raw values and sentences of the audit log, the ledger's notes and rerouted tiles.
    "null",
    "true",
    "false",
    "set",
    "none",
    "month",
    "the",
    "after",
    "made",
    "failed",
    "not",
    "with",
    "answer",
    "unexpected",
    "longer",
    "bytes",
    "lost",
    "found",
    "log",
    "heart",
    "attempt",
    "generation",
}
ATTRIBUTES = ("placeholder", "title", "aria-label", "alt", "value")


class Readable(HTMLParser):
    """What a person reads: text outside scripts and styles, and the attributes above
    (alt text of an image is its prompt: skipped, user content)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "code", "pre", "textarea"):
            self._skip += 1
        for name, value in attrs:
            if name in ATTRIBUTES and value and not (tag == "img" and name == "alt"):
                if name == "value" and tag not in ("button", "input"):
                    continue
                if name == "value" and dict(attrs).get("type") not in ("submit", "button"):
                    continue
                self.parts.append(value)

    def handle_endtag(self, tag):
        if tag in ("script", "style", "code", "pre", "textarea") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def english_words(html: str) -> set[str]:
    reader = Readable()
    reader.feed(html)
    # Model ids (gpt-image-2-vip) are names, not words of the interface.
    text = re.sub(r"gpt-image-[\w.-]+", " ", " ".join(reader.parts))
    # Stored files' paths (images/2026/12/….png) are names too.
    text = re.sub(r"[\w.-]+(?:/[\w.-]+)+", " ", text)
    words = set(re.findall(r"\b[A-Za-z]+\b", text))
    return words & ENGLISH


@pytest.fixture
def rows(db):
    boss = make_user("boss", staff=True)
    designer = make_user("designer")
    team = make_team("市场部", boss, designer)
    budget = make_budget("100", team=team)
    # Audit rows of every shape: changed money and share, a flag, a password.
    budget.monthly_cap, budget.alert_at = "250", "0.5"
    budget.save()
    boss.set_password("another-secret-9")
    designer.is_staff = False
    boss.first_name = "老板"
    boss.save()
    image = make_finished(designer, team=team, prompt="夏季促销海报，凉鞋")
    failed = make_generation(
        designer,
        team=team,
        status="failed",
        prompt="草帽海报",
        error_code="saturated",
        error_params={"tries": 2, "billed": ["0.03"], "http_status": 429},
    )
    make_attempt(designer, "timeout", generation=failed, team=team)
    make_attempt(designer, "saturated", generation=failed, team=team, number=2, http_status=429)
    refused = make_generation(
        designer,
        team=team,
        status="refused",
        prompt="太阳镜海报",
        error_code="soft_refusal",
        error_params={"tries": 1, "billed": ["0.03"], "detail": "抱歉，我无法生成这张图片。"},
        reply="抱歉，我无法生成这张图片。",
    )
    make_attempt(designer, "soft_refusal", generation=refused, team=team, http_status=200)
    running = make_generation(designer, team=team, status="running", prompt="沙滩海报")
    turn = make_finished(
        designer, team=team, prompt="改成蓝色", parent=image, thread=image, kind=Kind.CHAT
    )
    make_generation(
        designer,
        team=team,
        status="failed",
        prompt="加上海浪",
        parent=turn,
        thread=image,
        kind=Kind.CHAT,
        error_code="worker_lost",
    )
    queued = make_generation(designer, team=team, status="queued", prompt="雨伞海报")
    # Made by a fallback route after the first failed twice; a failed one rerouted too.
    vip, fallback = catalog.VIP, "gpt-image-2.6-all"
    failed_hop = {"route": vip, "outcome": "upstream_error", "attempts": 2, "cost_usd": "0"}
    rerouted = make_finished(designer, team=team, prompt="遮阳伞海报")
    Generation.objects.filter(pk=rerouted.pk).update(
        route=fallback,
        hops=[
            failed_hop,
            {"route": fallback, "outcome": "image", "attempts": 1, "cost_usd": "0.03"},
        ],
    )
    make_generation(
        designer,
        team=team,
        status="failed",
        prompt="墨镜海报",
        error_code="upstream_error",
        route=fallback,
        hops=[failed_hop, {**failed_hop, "route": fallback, "attempts": 1}],
    )
    # The ledger's own notes: an unreadable answer, a call only the gateway's log knew.
    make_attempt(
        designer,
        "upstream_error",
        generation=failed,
        team=team,
        number=3,
        http_status=302,
        error_message="unexpected HTTP 302",
        note="answer_unexpected_status",
        note_params={"status": 302},
    )
    make_attempt(designer, "lost", team=team, note="found_in_log", request_id="r-9")
    board = make_board(designer, "夏季促销 2027", team=team, items=[image, failed])
    kit = make_kit(designer, "夏季品牌", team=team, style="粗体字", pictures=1)
    return {
        "boss": boss,
        "designer": designer,
        "image": image,
        "failed": failed,
        "refused": refused,
        "running": running,
        "turn": turn,
        "queued": queued,
        "rerouted": rerouted,
        "board": board,
        "kit": kit,
    }


def pages(r: dict) -> list[str]:
    return [
        "/",
        "/gallery/",
        f"/g/{r['image'].pk}/",
        f"/g/{r['failed'].pk}/",
        f"/g/{r['queued'].pk}/",
        f"/g/{r['refused'].pk}/",
        f"/g/{r['running'].pk}/",
        f"/g/{r['turn'].pk}/",
        f"/g/{r['rerouted'].pk}/",
        f"/poll?ids={r['failed'].pk}:running&ids={r['refused'].pk}:running",
        f"/g/{r['image'].pk}/delete",
        f"/batches/{r['image'].batch_id}/",
        "/boards/",
        f"/boards/{r['board'].pk}/",
        "/kits/",
        "/kits/new",
        f"/kits/{r['kit'].pk}/",
        "/spend/mine/",
        "/account/tokens/",
        "/account/preferences/",
        "/spend/",
        "/spend/soft-refusals/",
        "/spend/gateway/",
        "/audit/",
        "/people/",
        "/people/teams/",
        "/people/budgets/",
        "/no-such-page/",
    ]


def test_every_page_reads_in_chinese(client, rows):
    client.force_login(rows["boss"])
    left = {}
    for path in pages(rows):
        response = client.get(path, headers={"Accept-Language": "zh-hans"})
        assert response.status_code in (200, 286, 404), path
        words = english_words(response.content.decode())
        if words:
            left[path] = sorted(words)
    assert not left, "English left on pages in zh-hans: " + "; ".join(
        f"{path}: {', '.join(words)}" for path, words in left.items()
    )


def test_the_admin_names_its_apps_and_records_in_chinese(client, rows):
    client.force_login(make_user("root", superuser=True))
    left = {}
    for path in (
        "/admin/",
        "/admin/studio/generation/",
        "/admin/spend/budget/",
        "/admin/spend/attempt/",
        "/admin/prefilter/category/",
        "/admin/audit/auditentry/",
        f"/admin/audit/auditentry/{AuditEntry.objects.filter(object_type='budget').last().pk}/change/",
        # A record's own page names each of its fields.
        f"/admin/studio/generation/{rows['rerouted'].pk}/change/",
        f"/admin/campaigns/board/{rows['board'].pk}/change/",
        "/admin/campaigns/star/",
        "/admin/routing/circuit/",
        "/admin/api/apitoken/",
    ):
        response = client.get(path, headers={"Accept-Language": "zh-hans"})
        assert response.status_code == 200, path
        words = english_words(response.content.decode())
        if words:
            left[path] = sorted(words)
    assert not left, "English left in the admin in zh-hans: " + "; ".join(
        f"{path}: {', '.join(words)}" for path, words in left.items()
    )


def test_the_sign_in_page_reads_in_chinese(client):
    response = client.get("/accounts/login/", headers={"Accept-Language": "zh-hans"})

    assert not english_words(response.content.decode())


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_language_menu_names_each_language_in_itself(client, language):
    page = client.get("/accounts/login/", headers={"Accept-Language": language})
    html = page.content.decode()
    assert '<option value="en"' in html and ">English</option>" in html
    assert ">简体中文</option>" in html
    assert "英语" not in html


def test_the_kit_forms_help_is_said_in_the_readers_language(client, rows):
    client.force_login(rows["designer"])

    zh = client.get("/kits/new", headers={"Accept-Language": "zh-hans"}).content.decode()
    en = client.get("/kits/new", headers={"Accept-Language": "en"}).content.decode()
    assert "作为 image1、image2 发送" in zh and "a product shot" not in zh
    assert "a product shot" in en
