"""Company sign-in in Chromium: the whole redirect dance between the live studio and a real
OpenID provider on loopback (tests/oidc), then sign-out at both. The refusals (state,
nonce, expired code, groups) are in test_signin_oidc.py, without a browser."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth import get_user_model

from tests.factories import make_team
from tests.oidc_provider import running_provider, use_provider
from tests.test_browser import chromium_path, page  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _off_the_event_loop(work):
    """The ORM, from a thread without Playwright's event loop (it refuses that one)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(work).result()


@pytest.fixture
def directory(live_server, tmp_path, settings):
    with running_provider(
        tmp_path,
        [f"{live_server.url}/accounts/oidc/callback/"],
        [f"{live_server.url}/accounts/login/"],
    ) as running:
        use_provider(settings, running.issuer)
        yield running


@pytest.fixture
def mei(directory):
    make_team("Design")
    return directory.add("mei", groups=["Design"])


def test_a_designer_signs_in_with_the_company_directory_and_out_again(
    live_server,
    mei,
    page,  # noqa: F811
):
    from playwright.sync_api import expect

    page.goto(f"{live_server.url}/gallery/")
    page.get_by_role("link", name="Sign in with Test Directory").click()
    page.get_by_label("Directory user").fill("mei")
    page.get_by_label("Directory password").fill(mei)
    page.get_by_role("button", name="Continue").click()

    expect(page).to_have_url(f"{live_server.url}/gallery/")
    expect(page.locator(".who")).to_have_text("mei")
    teams = _off_the_event_loop(
        lambda: list(
            get_user_model().objects.get(username="mei").teams.values_list("name", flat=True)
        )
    )
    assert teams == ["Design"]

    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="Yes, sign me out").click()

    expect(page).to_have_url(f"{live_server.url}/accounts/login/")
    expect(page.get_by_role("link", name="Sign in with Test Directory")).to_be_visible()
    assert page.problems == []
