"""A marketer's pick in a real browser: the gallery → the viewer (arrow keys, star two with
s, Esc gives the focus back) → compare two side by side → put the starred ones on a new
board from the gallery's selection → the board's page → its ZIP downloaded and opened
(manifest read with csv, images opened with Pillow). Screenshots at 1440 and 390 px when
IMAGESTUDIO_SCREENSHOTS names a folder."""

from __future__ import annotations

import csv
import io
import os
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from imagestudio.campaigns.models import Board
from tests.factories import make_finished, stored_picture
from tests.test_browser import (  # noqa: F401  (fixtures)
    TIMEOUT_MS,
    chromium_path,
    designer,
    page,
)
from tests.test_browser_batch import orm, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
WIDTHS = (1440, 390)
PROMPTS = [
    ("Summer sale poster, straw hat", (240, 180, 60), (1200, 1800)),
    ("夏季促销海报：太阳镜", (40, 120, 200), (1200, 1800)),
    ("Summer sale poster, beach towel", (200, 60, 90), (1600, 900)),
    ("Summer sale poster, iced tea", (60, 160, 90), (1024, 1024)),
]


@pytest.fixture
def images(designer):  # noqa: F811
    # Made before Playwright starts (its event loop makes the ORM refuse this thread).
    made = []
    for prompt, color, size in PROMPTS:
        files = stored_picture(fmt="PNG", size=size, color=color)
        # The Chinese one came from a list's row: compare captions it with the row.
        row = {"product": "太阳镜"} if prompt.startswith("夏季") else {}
        made.append(make_finished(designer, prompt=prompt, variables=row, **files))
    return made


def screenshots(browser_page, name: str, *, full_page: bool = True) -> None:
    folder = os.environ.get("IMAGESTUDIO_SCREENSHOTS")
    if not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    size = browser_page.viewport_size
    for width in WIDTHS:
        browser_page.set_viewport_size({"width": width, "height": 900 if width > 500 else 844})
        browser_page.wait_for_timeout(150)
        browser_page.screenshot(path=f"{folder}/{name}-{width}.png", full_page=full_page)
    browser_page.set_viewport_size(size)


def test_view_star_compare_board_and_download(live_server, images, page):  # noqa: F811
    from playwright.sync_api import expect

    url = live_server.url
    sign_in(page, url)
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{url}/gallery/")
    tiles = page.locator("[data-viewer]")
    expect(tiles).to_have_count(4)

    # The viewer: from the newest tile, → twice, starring the second and third with s.
    first = tiles.nth(0)
    first.focus()
    page.keyboard.press("Enter")
    viewer = page.locator("#viewer")
    expect(viewer).to_be_visible()
    expect(viewer.locator('[data-part="count"]')).to_have_text("Image 1 of 4")
    page.keyboard.press("ArrowRight")
    expect(viewer.locator('[data-part="count"]')).to_have_text("Image 2 of 4")
    expect(viewer.locator('[data-part="prompt"]')).to_have_text(PROMPTS[2][0])
    page.keyboard.press("s")
    expect(viewer.locator('[data-action="star"]')).to_have_attribute("aria-pressed", "true")
    page.keyboard.press("ArrowRight")
    expect(viewer.locator('[data-part="prompt"]')).to_have_text(PROMPTS[1][0])
    page.keyboard.press("s")
    expect(viewer.locator("#viewer-note")).to_have_text("Starred.")
    page.keyboard.press("ArrowLeft")
    expect(viewer.locator('[data-part="count"]')).to_have_text("Image 2 of 4")
    # z shows the original at 100 %: its natural size on screen.
    page.keyboard.press("z")
    image = viewer.locator('[data-part="image"]')
    expect(viewer).to_have_class("viewer viewer--actual")
    page.wait_for_function(
        "() => { const i = document.querySelector('#viewer [data-part=image]');"
        " return i.complete && i.naturalWidth === 1600 && i.clientWidth === 1600; }"
    )
    page.keyboard.press("z")
    assert image.evaluate("i => i.clientWidth") < 1600
    # b goes to "add to board"; a new board from the viewer, said in its note.
    page.keyboard.press("b")
    expect(viewer.locator("#viewer-board")).to_be_focused()
    page.select_option("#viewer-board", "")
    expect(viewer.locator("#viewer-new-board")).to_be_focused()
    page.keyboard.type("Viewer picks")
    page.keyboard.press("Enter")
    expect(viewer.locator("#viewer-note")).to_have_text("Added 1 to “Viewer picks”.")
    on_board = orm(lambda: list(Board.objects.get(name="Viewer picks").generations.all()))
    assert on_board == [images[2]]
    screenshots(page, "viewer", full_page=False)
    page.locator('#viewer [data-action="next"]').focus()
    page.keyboard.press("Escape")
    expect(viewer).to_be_hidden()
    # The focus is back on the tile that opened the viewer.
    assert page.evaluate("() => document.activeElement.dataset.viewer") == str(images[3].pk)
    expect(page.locator(".thumb__star")).to_have_count(2)
    starred = orm(
        lambda: sorted(images[0].stars.model.objects.values_list("generation_id", flat=True))
    )
    assert starred == sorted([images[1].pk, images[2].pk])

    # Compare the two starred ones: side by side, at one scale.
    page.goto(f"{url}/gallery/?starred=1")
    expect(tiles).to_have_count(2)
    page.locator("input[data-select]").nth(0).check()
    page.locator("input[data-select]").nth(1).check()
    expect(page.locator("[data-selected-count]")).to_have_text("2 selected")
    screenshots(page, "gallery-selection")
    page.click("[data-compare]")
    expect(viewer.locator(".viewer__compare figure")).to_have_count(2)
    page.wait_for_function(
        "() => [...document.querySelectorAll('#viewer .viewer__compare img')]"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )
    scales = viewer.locator(".viewer__compare img").evaluate_all(
        "imgs => imgs.map(i => i.getBoundingClientRect().width / i.naturalWidth)"
    )
    assert abs(scales[0] - scales[1]) < 0.01
    # ← → pick the compared image that s and b act on; each is captioned with its row.
    expect(viewer.locator(".viewer__row")).to_have_text(["product: 太阳镜"])
    figures = viewer.locator(".viewer__compare figure")
    expect(figures.nth(0)).to_have_attribute("aria-current", "true")
    page.keyboard.press("ArrowRight")
    expect(figures.nth(1)).to_have_attribute("aria-current", "true")
    expect(figures.nth(0)).to_have_attribute("aria-current", "false")
    expect(viewer.locator('[data-part="prompt"]')).to_have_text(PROMPTS[1][0])
    page.keyboard.press("s")
    expect(viewer.locator("#viewer-note")).to_have_text("Star removed.")
    page.keyboard.press("s")
    expect(viewer.locator("#viewer-note")).to_have_text("Starred.")
    page.keyboard.press("b")
    expect(viewer.locator("#viewer-board")).to_be_focused()
    screenshots(page, "compare", full_page=False)
    page.keyboard.press("Escape")
    expect(viewer).to_be_hidden()

    # Both onto a new board from the selection.
    page.select_option("#bulk-board", "")
    page.fill("#bulk-new-board", "Summer sale 2027")
    page.click("#bulk button[type=submit]:not([formaction])")
    expect(page.locator(".messages, [role=status]").first).to_be_visible()
    page.goto(f"{url}/boards/")
    screenshots(page, "boards")
    page.click("text=Summer sale 2027")
    expect(page.locator("h1")).to_have_text("Summer sale 2027")
    expect(page.locator("[data-viewer]")).to_have_count(2)
    # The board has the same viewer.
    page.locator("[data-viewer]").first.click()
    expect(viewer.locator('[data-part="count"]')).to_have_text("Image 1 of 2")
    page.keyboard.press("Escape")
    screenshots(page, "board")

    with page.expect_download() as info:
        page.click("text=Download ZIP")
    download = info.value
    assert download.suggested_filename == "summer-sale-2027.zip"
    archive = zipfile.ZipFile(download.path())
    rows = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode("utf-8-sig"))))
    assert {row["id"] for row in rows} == {str(images[1].pk), str(images[2].pk)}
    assert {row["board"] for row in rows} == {"Summer sale 2027"}
    assert {row["starred"] for row in rows} == {"true"}
    names = {row["file"] for row in rows}
    assert f"{images[1].pk}-夏季促销海报太阳镜.png" in names
    for row in rows:
        with Image.open(io.BytesIO(archive.read(row["file"]))) as picture:
            picture.load()
            assert picture.size == (int(row["width"]), int(row["height"]))
    assert page.problems == []
