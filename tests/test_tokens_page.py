"""A user's API tokens in the browser (/account/tokens/): listed with name, created and
last used; created with the secret shown once (a copy button, by a static script); revoked."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from imagestudio.api.models import ApiToken, hash_token
from imagestudio.audit.models import AuditEntry
from tests.factories import bearer, make_token, make_user

pytestmark = pytest.mark.django_db
PAGE = "/account/tokens/"


def revoke_url(token: ApiToken) -> str:
    return reverse("tokens:revoke", args=[token.pk])


def test_the_page_lists_my_tokens_only(owner_client, owner, other_user):
    used, _ = make_token(owner, "laptop")
    ApiToken.objects.filter(pk=used.pk).update(last_used_at=timezone.now())
    make_token(owner, "ci")
    make_token(other_user, "someone else's")
    html = owner_client.get(PAGE).content.decode()
    assert "laptop" in html and "ci" in html and "never" in html
    assert used.prefix in html
    assert "someone else" not in html


def test_creating_a_token_shows_it_once(owner_client, owner, client):
    response = owner_client.post(PAGE, {"name": "render farm"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    html = response.content.decode()
    raw = re.search(r'id="new-token"[^>]*>(ist_[^<]+)<', html).group(1)
    token = ApiToken.objects.get(user=owner, name="render farm")
    assert token.token_hash == hash_token(raw)
    assert "shown only this once" in html and 'data-copy="new-token"' in html
    # It works, and the page never shows it again.
    assert Client().get("/api/v1/generations", headers=bearer(raw)).status_code == 200
    assert raw not in owner_client.get(PAGE).content.decode()
    entry = AuditEntry.objects.filter(object_type="api_token").latest("id")
    assert (entry.action, entry.via, entry.actor_name) == ("issued", "web", "owner")


def test_a_name_is_needed(owner_client, owner):
    html = owner_client.post(PAGE, {"name": "  "}).content.decode()
    assert "This field is required" in html
    assert not ApiToken.objects.filter(user=owner).exists()


def test_the_copy_button_is_scripted_from_a_static_file_not_inline(owner_client):
    html = owner_client.post(PAGE, {"name": "x"}).content.decode()
    assert '<script src="/static/tokens.js' in html
    assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html) is None
    assert " onclick=" not in html


def test_revoking_my_token(owner_client, owner):
    token, raw = make_token(owner, "old")
    response = owner_client.post(revoke_url(token))
    assert response.status_code == 302 and response["Location"] == PAGE
    assert not ApiToken.objects.filter(pk=token.pk).exists()
    assert "Token old is revoked" in owner_client.get(PAGE).content.decode()
    assert Client().get("/api/v1/generations", headers=bearer(raw)).status_code == 401
    entry = AuditEntry.objects.filter(object_type="api_token").latest("id")
    assert (entry.action, entry.via) == ("revoked", "web")


def test_revoking_someone_elses_token_is_404(owner_client, other_user):
    theirs, _ = make_token(other_user)
    assert owner_client.post(revoke_url(theirs)).status_code == 404
    assert ApiToken.objects.filter(pk=theirs.pk).exists()


def test_revoking_an_unknown_token_is_404(owner_client):
    assert owner_client.post("/account/tokens/999999/revoke").status_code == 404


def test_staff_may_revoke_anyones_token(admin_client_, owner):
    token, _ = make_token(owner)
    assert admin_client_.post(revoke_url(token)).status_code == 302
    assert not ApiToken.objects.filter(pk=token.pk).exists()


def test_revoke_asks_on_get_and_the_page_takes_get_and_post(owner_client, owner):
    token, _ = make_token(owner)
    assert owner_client.get(revoke_url(token)).status_code == 200
    assert owner_client.put(revoke_url(token)).status_code == 405
    assert owner_client.put(PAGE).status_code == 405
    assert ApiToken.objects.filter(pk=token.pk).exists()


def test_anonymous_is_sent_to_sign_in(client, owner):
    token, _ = make_token(owner)
    for response in (client.get(PAGE), client.post(revoke_url(token))):
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert ApiToken.objects.filter(pk=token.pk).exists()


def test_the_header_links_to_the_page(owner_client):
    html = owner_client.get("/").content.decode()
    assert f'href="{PAGE}"' in html


# -- in a real browser: the copy button -----------------------------------------------------


@pytest.fixture
def browser_page():
    from pathlib import Path

    from playwright.sync_api import sync_playwright

    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        pytest.skip(f"{chromium} is missing: install Debian's chromium package")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(chromium),
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        context = browser.new_context()
        context.grant_permissions(["clipboard-read", "clipboard-write"])
        page = context.new_page()
        page.set_default_timeout(30_000)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.errors = errors
        try:
            yield page
        finally:
            context.close()
            browser.close()


@pytest.fixture
def copier():
    # Created before Playwright starts: its event loop makes the ORM refuse this thread.
    return make_user("copier", password="a long test password")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_copy_button_copies_the_new_token(live_server, copier, browser_page):
    from playwright.sync_api import expect

    page = browser_page
    page.goto(f"{live_server.url}/accounts/login/?next={PAGE}")
    page.fill("#id_username", "copier")
    page.fill("#id_password", "a long test password")
    page.click("button[type=submit]")
    page.fill("#id_name", "clipboard")
    page.click("text=Create a token")
    shown = page.locator("#new-token").inner_text().strip()
    assert shown.startswith("ist_")
    page.click("button[data-copy]")
    expect(page.locator("button[data-copy]")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == shown
    assert page.errors == []


def test_revoking_asks_first_and_keeps_the_token_until_confirmed(owner_client, owner):
    token, _ = make_token(owner, "deploy")
    listing = owner_client.get(PAGE).content.decode()
    assert f'href="{revoke_url(token)}"' in listing
    page = owner_client.get(revoke_url(token)).content.decode()
    assert "deploy" in page and f'action="{revoke_url(token)}"' in page
    assert ApiToken.objects.filter(pk=token.pk).exists()
    owner_client.post(revoke_url(token))
    assert not ApiToken.objects.filter(pk=token.pk).exists()
