"""In the browser: a token-billed route's estimate line counts the reference pictures the
form holds, redrawn as pictures are added and removed, with the figures GET
/api/v1/estimate gives for the same request."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from imagestudio import catalog
from imagestudio.spend import money
from tests.factories import picture_bytes
from tests.test_browser import (  # noqa: F401  (fixtures, used by name)
    chromium_path,
    designer,
    page,
)
from tests.test_browser_form_edges import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ.get("IMAGESTUDIO_SHOTS", "/tmp/estimate-shots"))
OFFICIAL = catalog.OFFICIAL


def test_the_estimate_line_follows_the_pictures_added_and_removed(
    live_server,
    designer,  # noqa: F811
    page,  # noqa: F811
    tmp_path,
):
    from playwright.sync_api import expect

    sign_in(page, live_server)
    page.select_option("#id_model", OFFICIAL)
    page.fill("#id_prompt", "a bottle on a beach")
    line = page.locator("#feedback [data-estimate]")
    quality = catalog.quality_sent(OFFICIAL, "")
    low, high = catalog.estimate_range(OFFICIAL, "1024x1024", quality)
    expect(line).to_contain_text(f"about {money.usd(low)} to {money.usd(high)} per image")

    files = []
    for n, color in enumerate([(220, 20, 20), (20, 20, 220)]):
        path = tmp_path / f"p{n}.png"
        path.write_bytes(picture_bytes("PNG", (120, 90), color))
        files.append(str(path))
    page.set_input_files("#input-files", files)
    expect(page.locator("#input-list [data-input-tile]")).to_have_count(2)
    low, high = catalog.estimate_range(OFFICIAL, "1024x1024", quality, 2)
    expect(line).to_contain_text(f"about {money.usd(low)} to {money.usd(high)}")
    expect(line).to_contain_text("with its 2 reference pictures")
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in (1440, 390):
        page.set_viewport_size({"width": width, "height": 1000})
        line.scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / f"estimate-{width}.png"))

    page.locator("#input-list [data-input-tile] [data-remove]").first.click()
    low, high = catalog.estimate_range(OFFICIAL, "1024x1024", quality, 1)
    expect(line).to_contain_text(f"about {money.usd(low)} to {money.usd(high)}")
    expect(line).to_contain_text("with its reference picture ")
    assert page.problems == []
