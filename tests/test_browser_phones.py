"""A finished image's page on a 390 px touch phone and at 1440 px, in Chromium: it fits the
phone, the header does not jump as the page loads, every button is a finger wide, keyboard
hints only show where there is a keyboard, and the labelled download is offered beside
the original. At 1440 px a list's form uses the width."""

from __future__ import annotations

import pytest

from tests.factories import make_attempt, make_finished, make_team, make_user
from tests.test_browser import chromium_path  # noqa: F401  (fixture)
from tests.test_browser_pages import PASSWORD, _browser, _sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The layout shifts of the page so far, as Chromium measures them (Lighthouse's CLS).
SHIFTS = """new Promise(done => {
  let total = 0;
  new PerformanceObserver(list => {
    for (const entry of list.getEntries()) if (!entry.hadRecentInput) total += entry.value;
  }).observe({type: "layout-shift", buffered: true});
  setTimeout(() => done(total), 300);
})"""
# Buttons, selects and button-like links under 24 px in either direction.
SMALL_TARGETS = """[...document.querySelectorAll(
  "main button, main select, main .button, header button, header select"
)].filter(el => el.offsetParent !== null).map(el => {
  const box = el.getBoundingClientRect();
  return [el.textContent.trim().slice(0, 30) || el.name, box.width, box.height];
}).filter(([, w, h]) => w < 24 || h < 24)"""


@pytest.fixture
def finished_image():
    designer = make_user("designer", password=PASSWORD)
    team = make_team("市场部", designer)
    image = make_finished(
        designer,
        team=team,
        prompt="夏季促销海报，凉鞋，标题“踏入夏天”，明亮的色彩，海边背景，" * 3,
        width=2048,
        height=1152,
    )
    for number, outcome in ((1, "timeout"), (2, "image")):
        make_attempt(
            designer,
            outcome,
            generation=image,
            team=team,
            number=number,
            request_id="20261207035512345678901234567890abcdef",
            http_status=200 if outcome == "image" else None,
        )
    return image


def test_a_finished_image_on_a_touch_phone_in_chinese(live_server, finished_image, chromium_path):  # noqa: F811
    manager, browser = _browser(chromium_path)
    try:
        context = browser.new_context(
            viewport={"width": 390, "height": 844},
            has_touch=True,
            is_mobile=True,
            extra_http_headers={"Accept-Language": "zh-hans"},
        )
        page = context.new_page()
        _sign_in(page, live_server.url, "designer")
        page.goto(f"{live_server.url}/g/{finished_image.pk}/")
        width = page.evaluate("document.documentElement.scrollWidth")
        shift = page.evaluate(SHIFTS)
        small = page.evaluate(SMALL_TARGETS)
        assert page.locator(".menu-toggle").is_visible()
        assert not page.locator("#topbar-menu").is_visible()
        page.goto(f"{live_server.url}/")
        hint_shown = page.locator("[data-keyboard-hint]").is_visible()
        home_shift = page.evaluate(SHIFTS)
    finally:
        browser.close()
        manager.stop()
    assert width <= 390
    assert shift < 0.1 and home_shift < 0.1
    assert not small, f"tap targets under 24 px: {small}"
    assert not hint_shown


def test_a_finished_image_at_1440_px(live_server, finished_image, chromium_path):  # noqa: F811
    manager, browser = _browser(chromium_path)
    try:
        page = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
        _sign_in(page, live_server.url, "designer")
        page.goto(f"{live_server.url}/g/{finished_image.pk}/")
        width = page.evaluate("document.documentElement.scrollWidth")
        download = page.locator("#detail-actions a", has_text="Download").get_attribute("href")
        original = page.locator("#detail-actions a", has_text="Original file").get_attribute("href")
        menu_shown = page.locator("#topbar-menu").is_visible()
        page.goto(f"{live_server.url}/")
        hint_shown = page.locator("[data-keyboard-hint]").is_visible()
        # A list uses the width: the template beside the rows, the preview under both.
        page.check("input[name=mode][value=list]")
        page.fill("#id_template", "{product} 的夏季海报，标语：{slogan}")
        page.fill("#id_items", "product,slogan\n凉鞋,踏入夏天\n草帽,遮阳有型")
        page.click("button[name=action][value=preview]")
        page.wait_for_selector("#list-preview")
        template = page.locator("#id_template").bounding_box()
        rows = page.locator("#id_items").bounding_box()
        preview = page.locator("#list-preview").bounding_box()
    finally:
        browser.close()
        manager.stop()
    assert template and rows and preview
    assert template["x"] + template["width"] <= rows["x"]  # side by side
    assert abs(template["y"] - rows["y"]) < 40
    assert preview["width"] >= 900
    assert width <= 1440
    assert download.endswith("?download=1")
    assert "original=1" in original
    assert menu_shown and hint_shown
