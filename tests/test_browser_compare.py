"""Compare on a phone and on a wide screen, in Chinese: at 390 px one picture at a time,
the full width, captioned with its row, swiped (or stepped with ← →) to the next, the title
saying which; at 1440 px side by side. Both at one scale. Screenshots at both widths when
IMAGESTUDIO_SCREENSHOTS names a folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.test_browser import (  # noqa: F401  (fixtures)
    chromium_path,
    designer,
    page,
)
from tests.test_browser_batch import sign_in
from tests.test_browser_boards import PROMPTS, images  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
FIGURES = "#viewer .viewer__compare figure"


def shot(browser_page, name: str) -> None:
    folder = os.environ.get("IMAGESTUDIO_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        browser_page.screenshot(path=f"{folder}/{name}.png")


def open_compare(browser_page, url: str, count: int) -> None:
    from playwright.sync_api import expect

    browser_page.goto(f"{url}/gallery/")
    boxes = browser_page.locator("input[data-select]")
    for n in range(count):
        boxes.nth(n).check()
    browser_page.click("[data-compare]")
    expect(browser_page.locator(FIGURES)).to_have_count(count)
    browser_page.wait_for_function(
        "() => [...document.querySelectorAll('#viewer .viewer__compare img')]"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )


def boxes(browser_page) -> list[dict]:
    """Each compared picture's box and its caption's, and the compare area's, on screen."""
    return browser_page.evaluate(
        """() => {
          const area = document.querySelector('#viewer .viewer__compare').getBoundingClientRect();
          return [...document.querySelectorAll('#viewer .viewer__compare figure')].map(f => {
            const i = f.querySelector('img'), r = i.getBoundingClientRect();
            const c = f.querySelector('figcaption').getBoundingClientRect();
            return {left: r.left, right: r.right, top: r.top, bottom: r.bottom,
                    width: r.width, scale: r.width / i.naturalWidth, caption: c.bottom,
                    area: {left: area.left, right: area.right, top: area.top,
                           bottom: area.bottom, width: area.width}};
          });
        }"""
    )


def test_compare_on_a_phone_shows_one_picture_at_a_time_and_swipes(live_server, images, page):  # noqa: F811
    from playwright.sync_api import expect

    page.context.set_extra_http_headers({"Accept-Language": "zh-hans"})
    sign_in(page, live_server.url)
    page.set_viewport_size({"width": 390, "height": 844})
    open_compare(page, live_server.url, 3)
    viewer = page.locator("#viewer")
    count = viewer.locator('[data-part="count"]')
    expect(count).to_contain_text("对比中的第 1 张（共 3 张）")
    page.wait_for_timeout(300)
    first, second, third = boxes(page)
    # The first one fills the width it is given and shows whole, caption included; the
    # others wait off screen to the right, at the same scale.
    area = first["area"]
    assert first["left"] >= area["left"] and first["right"] <= area["right"]
    assert first["width"] > 0.6 * area["width"] or first["bottom"] > area["top"] + 200
    assert first["caption"] <= area["bottom"] + 1
    assert second["left"] >= area["right"] - 1 and third["left"] >= area["right"] - 1
    assert (
        max(b["scale"] for b in (first, second, third))
        - min(b["scale"] for b in (first, second, third))
        < 0.01
    )
    shot(page, "compare-zh-390")

    # A swipe left: the next picture, its facts and the title follow.
    page.evaluate(
        "() => { const b = document.querySelector('#viewer .viewer__compare');"
        " b.scrollTo({left: b.clientWidth}); }"
    )
    expect(count).to_contain_text("对比中的第 2 张（共 3 张）")
    figures = viewer.locator(".viewer__compare figure")
    expect(figures.nth(1)).to_have_attribute("aria-current", "true")
    expect(viewer.locator('[data-part="prompt"]')).to_have_text(PROMPTS[2][0])
    shot(page, "compare-zh-390-swiped")

    # The → button steps on and the strip follows it.
    viewer.locator('[data-action="next"]').click()
    expect(count).to_contain_text("对比中的第 3 张（共 3 张）")
    page.wait_for_function(
        "() => { const b = document.querySelector('#viewer .viewer__compare');"
        " return Math.abs(b.scrollLeft - 2 * b.clientWidth) < 2; }"
    )
    # The row that tells it apart is its caption.
    expect(figures.nth(2).locator(".viewer__row")).to_have_text("product: 太阳镜")
    shot(page, "compare-zh-390-third")
    third = boxes(page)[2]
    assert (
        third["left"] >= third["area"]["left"] - 1 and third["right"] <= third["area"]["right"] + 1
    )
    assert not page.problems


def test_compare_on_a_wide_screen_shows_them_side_by_side(live_server, images, page):  # noqa: F811
    from playwright.sync_api import expect

    page.context.set_extra_http_headers({"Accept-Language": "zh-hans"})
    sign_in(page, live_server.url)
    page.set_viewport_size({"width": 1440, "height": 900})
    open_compare(page, live_server.url, 3)
    expect(page.locator('#viewer [data-part="count"]')).to_contain_text("正在对比 3 张图片")
    page.wait_for_timeout(300)
    placed = boxes(page)
    area = placed[0]["area"]
    assert placed[0]["right"] <= placed[1]["left"] and placed[1]["right"] <= placed[2]["left"]
    assert all(b["left"] >= area["left"] and b["right"] <= area["right"] + 1 for b in placed)
    assert all(b["caption"] <= area["bottom"] + 1 for b in placed)
    shot(page, "compare-zh-1440")
    assert not page.problems
