"""A studio-form submit the studio refuses (here a budget another submit used up after the
form's hint was drawn) draws the form again with its pictures: the mask painted over the
first one is kept, open and ready to send, in Chromium at 1440 px."""

from __future__ import annotations

import pytest

from tests.factories import make_budget, picture_bytes
from tests.test_browser import (  # noqa: F401  (fixtures)
    chromium_path,
    designer,
    page,
)
from tests.test_browser_batch import orm, sign_in
from tests.test_browser_mask import OFFICIAL, RED, SIZE, at, canvas_box

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def paint_over_a_picture(browser_page, base: str, tmp_path) -> None:
    """Signed in at 1440 px, the official route, one picture, a stroke painted over it."""
    from playwright.sync_api import expect

    browser_page.set_viewport_size({"width": 1440, "height": 900})
    sign_in(browser_page, base)
    path = tmp_path / "poster.png"
    path.write_bytes(picture_bytes("PNG", SIZE, RED))
    browser_page.select_option("#id_model", OFFICIAL)
    browser_page.fill("#id_prompt", "a blue sky where it is painted")
    browser_page.set_input_files("#input-files", [str(path)])
    expect(browser_page.locator("#input-list [data-input-tile]")).to_have_count(1)
    browser_page.locator("#studio-form [data-mask-toggle]").click()
    box = canvas_box(browser_page)
    browser_page.mouse.move(*at(box, 0.1, 0.5))
    browser_page.mouse.down()
    browser_page.mouse.move(*at(box, 0.3, 0.5), steps=6)
    browser_page.mouse.up()
    expect(browser_page.locator("[data-mask-status]")).to_contain_text("%")


def test_a_refused_submit_keeps_the_painted_mask(live_server, designer, page, tmp_path):  # noqa: F811
    from playwright.sync_api import expect

    paint_over_a_picture(page, live_server.url, tmp_path)
    status = page.locator("[data-mask-status]")
    expect(status).to_contain_text("%")
    painted = status.inner_text()

    # The budget is used up now, after the form's live hint said it fits (the hint's own
    # request, sent 0.4 s after the paint, has come back: a later one would see the cap).
    page.wait_for_load_state("networkidle")
    orm(lambda: make_budget("0.000001", user=designer))
    page.click("#studio-form .actions button[type=submit]:not([name=action])")
    expect(page.locator("#studio-form [data-budget-refusal]")).to_contain_text("Not sent")

    # The form was drawn again: the painter is open over the same picture, the same share
    # painted, and its mask is in the file field, ready to go with the next submit.
    expect(page.locator("#studio-form [data-mask-painter]")).to_be_visible()
    expect(status).to_have_text(painted)
    page.wait_for_function(
        "() => document.querySelector('#studio-form [data-mask-file]').files.length === 1"
    )
    assert not page.locator("#studio-form [data-mask-file]").is_disabled()
    assert page.problems == [], "\n".join(page.problems)


def test_a_masked_submit_that_is_taken_logs_no_console_error(
    live_server,
    designer,  # noqa: F811
    page,  # noqa: F811
    tmp_path,
):
    from playwright.sync_api import expect

    paint_over_a_picture(page, live_server.url, tmp_path)

    page.click("#studio-form .actions button[type=submit]:not([name=action])")

    # Taken: its tile is on the page (no worker runs here, so it waits for one).
    expect(page.locator(".tile").first).to_be_visible()
    page.wait_for_timeout(500)
    # Scripts set the mask canvas's style; htmx must not write it back as an attribute.
    assert page.problems == [], "\n".join(page.problems)
