"""A rerouted image on a 390 px phone, in Chinese, in Chromium: its page does not scroll
sideways for the gateway's words in its call table (the table scrolls in its own box),
and its tile says what made it inside the tile's padding, "详情" on one line."""

from __future__ import annotations

import pytest

from imagestudio import catalog
from tests.factories import make_attempt, make_finished, make_user
from tests.test_browser import chromium_path  # noqa: F401  (fixture)
from tests.test_browser_pages import PASSWORD, _browser, _sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WORDS = (
    "service_unavailable: no available channel for this model now "
    "(request id: 20261207062114d92aa0a3ea2225c9)"
)
# Where the tile's route line's words start, against its tile; the Details link's height
# against its line's.
TILE = """(() => {
  const note = document.querySelector("[data-route-note]");
  const tile = note.closest(".tile");
  const words = document.createRange();
  words.selectNodeContents(note);
  const link = tile.querySelector(".tile__meta a");
  const line = parseFloat(getComputedStyle(link).lineHeight) || 20;
  const inset = words.getBoundingClientRect().left - tile.getBoundingClientRect().left;
  return [inset, link.getBoundingClientRect().height / line];
})()"""


@pytest.fixture
def rerouted():
    designer = make_user("designer", password=PASSWORD)
    image = make_finished(
        designer,
        model=catalog.VIP,
        size="2160x3840",
        width=2160,
        height=3840,
        route=catalog.ALL_26,
        hops=[
            {"route": catalog.VIP, "outcome": "upstream_error", "attempts": 1, "cost_usd": "0"},
            {"route": catalog.ALL_26, "outcome": "image", "attempts": 1, "cost_usd": "0.025"},
        ],
    )
    make_attempt(
        designer,
        "upstream_error",
        generation=image,
        number=1,
        http_status=503,
        billed=False,
        error_message=WORDS,
        request_id="20261207062114d92aa0a3ea2225c9",
    )
    make_attempt(
        designer,
        "image",
        generation=image,
        number=2,
        model=catalog.ALL_26,
        tier="4k",
        http_status=200,
        request_id="2026120706211489f3ba2223bb25d5",
    )
    return image


def test_a_rerouted_image_fits_a_phone_in_chinese(live_server, rerouted, chromium_path):  # noqa: F811
    manager, browser = _browser(chromium_path)
    try:
        context = browser.new_context(
            viewport={"width": 390, "height": 844},
            extra_http_headers={"Accept-Language": "zh-hans"},
        )
        page = context.new_page()
        _sign_in(page, live_server.url, "designer")
        page.goto(f"{live_server.url}/g/{rerouted.pk}/")
        page.wait_for_load_state("networkidle")
        assert "service_unavailable" in page.content()
        width = page.evaluate("document.documentElement.scrollWidth")
        page.goto(f"{live_server.url}/")
        page.wait_for_load_state("networkidle")
        inset, link_lines = page.evaluate(TILE)
    finally:
        browser.close()
        manager.stop()
    assert width <= 390
    assert inset >= 6
    assert link_lines < 1.5
