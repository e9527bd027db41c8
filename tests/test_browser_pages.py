"""Every page on a phone and through axe-core, in a real browser.

At 390 × 844 (a phone) no page may scroll sideways, for staff (every page) or not (the
pages a designer uses); and axe-core (vendored in tests/vendor, injected past the CSP)
finds no serious or critical WCAG 2 A/AA violation on the main pages."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.factories import make_board, make_finished, make_kit, make_team, make_user
from tests.test_browser import chromium_path  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).parent / "vendor" / "axe-4.14.1.min.js"
PASSWORD = "a long test password"
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def studio():
    """A staff member and a designer of one team, with an image, a board and a kit."""
    boss = make_user("boss", password=PASSWORD, staff=True)
    designer = make_user("designer", password=PASSWORD)
    team = make_team("市场部 Marketing", boss, designer)
    image = make_finished(
        designer,
        team=team,
        prompt="Summer sale poster for sandals, headline “Step into summer”, " * 3,
    )
    board = make_board(designer, "Summer sale 2027", team=team, items=[image])
    kit = make_kit(designer, "Summer brand", team=team, style="bold type", pictures=1)
    return {"image": image, "board": board, "kit": kit, "batch": image.batch}


def designer_pages(s: dict) -> list[str]:
    return [
        "/",
        "/gallery/",
        f"/g/{s['image'].pk}/",
        f"/batches/{s['batch'].pk}/",
        "/boards/",
        f"/boards/{s['board'].pk}/",
        "/kits/",
        "/kits/new",
        f"/kits/{s['kit'].pk}/",
        "/spend/mine/",
        "/account/tokens/",
        "/account/preferences/",
    ]


def staff_pages(s: dict) -> list[str]:
    return [*designer_pages(s), "/spend/", "/spend/soft-refusals/", "/spend/gateway/", "/audit/"]


def _browser(chromium: str):
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(
        executable_path=chromium,
        headless=True,
        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    )
    return playwright, browser


def _sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def _overflowing(page, base: str, paths: list[str]) -> list[str]:
    found = []
    for path in paths:
        page.goto(f"{base}{path}")
        page.wait_for_load_state("networkidle")
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            found.append(f"{path}: {width} px")
    return found


@pytest.mark.parametrize("who", ["boss", "designer"])
def test_no_page_scrolls_sideways_on_a_phone(live_server, studio, chromium_path, who):  # noqa: F811
    manager, browser = _browser(chromium_path)
    try:
        page = browser.new_context(viewport=PHONE).new_page()
        # The sign-in page too, before signing in.
        assert not _overflowing(page, live_server.url, ["/accounts/login/"])
        _sign_in(page, live_server.url, who)
        paths = staff_pages(studio) if who == "boss" else designer_pages(studio)
        wide = _overflowing(page, live_server.url, paths)
        # The header folds into a menu that opens on a tap.
        page.goto(f"{live_server.url}/")
        page.click(".menu-toggle")
        page.wait_for_selector(".nav a", state="visible")
    finally:
        browser.close()
        manager.stop()
    assert not wide, "pages wider than the phone: " + "; ".join(wide)


def test_the_main_pages_have_no_serious_accessibility_violations(
    live_server,
    studio,
    chromium_path,  # noqa: F811
):
    manager, browser = _browser(chromium_path)
    problems: list[str] = []
    try:
        # axe is injected as a script the page's CSP would refuse: bypassed for the test.
        page = browser.new_context(bypass_csp=True).new_page()
        _sign_in(page, live_server.url, "designer")
        for path in designer_pages(studio)[:9]:
            page.goto(f"{live_server.url}{path}")
            page.wait_for_load_state("networkidle")
            page.add_script_tag(path=str(AXE))
            result = page.evaluate(
                "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa']}})"
            )
            for violation in result["violations"]:
                if violation["impact"] in ("serious", "critical"):
                    nodes = [n["target"] for n in violation["nodes"][:3]]
                    problems.append(f"{path}: {violation['id']} ({violation['impact']}) {nodes}")
    finally:
        browser.close()
        manager.stop()
    assert not problems, "\n".join(problems)
