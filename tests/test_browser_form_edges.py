# ruff: noqa: F811
"""The studio form's rough edges in a real browser (issue 11, part 4): picture names that
follow a reorder, a pasted picture, the prompt counter, Generate held while over budget,
the "Queued …" notice and the spend line after the images finish; and screenshots of the
form at desk and phone widths.

Same real parts as test_browser: live server, a threads-pool Celery worker, the simulated
gateway over HTTP, Debian's Chromium."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from imagestudio import catalog
from tests.factories import make_budget, make_kit, picture_bytes
from tests.test_browser import (  # noqa: F401  (fixtures, used by name: hence F811 below)
    TIMEOUT_MS,
    chromium_path,
    designer,
    page,
    worker,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ.get("IMAGESTUDIO_SHOTS", "/tmp/form-edges-shots"))


def sign_in(page, live_server) -> None:
    from playwright.sync_api import expect

    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "designer")
    page.fill("#id_password", "a long test password")
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{live_server.url}/")


def write_picture(path: Path, color, fmt: str = "PNG") -> str:
    path.write_bytes(picture_bytes(fmt, (120, 90), color))
    return str(path)


@pytest.fixture
def tight_budget(designer):
    """Room for one image and not two; made before Playwright starts (see `designer`)."""
    price = catalog.price(catalog.ALL)
    return make_budget(str(price * 3 / 2), user=designer)


def test_reordering_pictures_rewrites_their_names_in_the_prompt(
    live_server,
    designer,
    page,
    tmp_path,
):
    from playwright.sync_api import expect

    sign_in(page, live_server)
    red = write_picture(tmp_path / "red.png", (220, 20, 20))
    blue = write_picture(tmp_path / "blue.png", (20, 20, 220))
    green = write_picture(tmp_path / "green.png", (20, 200, 20))
    page.set_input_files("#input-files", [red, blue, green])
    tiles = page.locator("#input-list [data-input-tile]")
    expect(tiles).to_have_count(3)
    page.fill("#id_prompt", "put image1 on image2, 把image3放在右边; myimage1 stays")

    # red moves after blue: image1 and image2 swap, in one pass.
    tiles.nth(0).locator("[data-move='1']").click()
    expect(tiles.nth(0)).to_contain_text("blue.png")
    expect(page.locator("#id_prompt")).to_have_value(
        "put image2 on image1, 把image3放在右边; myimage1 stays"
    )
    # green moves first: it was image3, the others shift.
    tiles.nth(2).locator("[data-move='-1']").click()
    expect(page.locator("#id_prompt")).to_have_value(
        "put image3 on image1, 把image2放在右边; myimage1 stays"
    )
    # Removing blue (image1): green and red move up to image1 and image2, and a warning
    # says the prompt still names the removed image1.
    tiles.nth(0).locator("[data-remove]").click()
    expect(tiles).to_have_count(2)
    expect(page.locator("#id_prompt")).to_have_value(
        "put image2 on image1, 把image1放在右边; myimage1 stays"
    )
    expect(page.locator("#input-errors")).to_contain_text("image1")
    assert page.problems == []


@pytest.fixture
def kit_with_a_picture(designer):
    return make_kit(designer, "Logo kit", model=catalog.ALL, size="", pictures=1)


def test_choosing_a_kit_numbers_the_staged_pictures_after_its_own(
    live_server, designer, kit_with_a_picture, page, tmp_path
):
    from playwright.sync_api import expect

    sign_in(page, live_server)
    page.set_input_files("#input-files", [write_picture(tmp_path / "red.png", (220, 20, 20))])
    name = page.locator("#input-list [data-input-tile] [data-input-name]")
    expect(name).to_have_text("image1")
    page.fill("#id_prompt", "the cup in image1")
    # The kit's picture is sent first, as image1: the staged one becomes image2.
    page.select_option("#id_kit", str(kit_with_a_picture.pk))
    expect(name).to_have_text("image2")
    expect(page.locator("#id_prompt")).to_have_value("the cup in image2")
    page.select_option("#id_kit", "")
    expect(name).to_have_text("image1")
    expect(page.locator("#id_prompt")).to_have_value("the cup in image1")
    assert page.problems == []


def test_a_pasted_picture_is_staged(live_server, designer, page):
    from playwright.sync_api import expect

    sign_in(page, live_server)
    encoded = base64.b64encode(picture_bytes("PNG", (80, 60), (10, 120, 200))).decode()
    page.locator("#id_prompt").evaluate(
        """(area, encoded) => {
            const bytes = Uint8Array.from(atob(encoded), c => c.charCodeAt(0));
            const data = new DataTransfer();
            data.items.add(new File([bytes], "pasted.png", { type: "image/png" }));
            const init = { clipboardData: data, bubbles: true, cancelable: true };
            area.dispatchEvent(new ClipboardEvent("paste", init));
        }""",
        encoded,
    )
    tiles = page.locator("#input-list [data-input-tile]")
    expect(tiles).to_have_count(1)
    expect(tiles.nth(0)).to_contain_text("pasted.png")
    expect(tiles.nth(0).locator("[data-input-name]")).to_have_text("image1")
    # Pasted text still goes into the field.
    page.locator("#id_prompt").evaluate(
        """area => {
            const data = new DataTransfer();
            data.setData("text/plain", "words");
            const init = { clipboardData: data, bubbles: true, cancelable: true };
            area.dispatchEvent(new ClipboardEvent("paste", init));
        }"""
    )
    expect(tiles).to_have_count(1)
    assert page.problems == []


def test_prompt_counter_appears_as_the_limit_nears(live_server, designer, page):
    from playwright.sync_api import expect

    sign_in(page, live_server)
    limit = catalog.PROMPT_MAX_CHARS
    counter = page.locator("[data-prompt-counter]")
    page.fill("#id_prompt", "a" * (limit // 2))
    expect(counter).to_be_hidden()
    page.fill("#id_prompt", "a" * (limit - 100))
    expect(counter).to_be_visible()
    expect(counter).to_have_text(f"{limit - 100:,} of {limit:,} characters")
    # A line break is sent as \r\n and counted as two, as the server counts it.
    page.fill("#id_prompt", "a" * (limit - 2) + "\nb")
    expect(counter).to_contain_text(f"{limit + 1:,} of {limit:,} characters: 1 too many")
    expect(counter).to_have_class("hint prompt-counter prompt-counter--over")
    assert page.problems == []


def test_generate_is_disabled_while_the_next_batch_is_over_budget(
    live_server,
    designer,
    tight_budget,
    page,
):
    from playwright.sync_api import expect

    sign_in(page, live_server)
    generate = page.locator("#studio-form .actions button[type=submit]:not([name=action])")
    page.select_option("#id_model", catalog.ALL)
    page.fill("#id_prompt", "a paper boat")
    page.fill("#id_count", "1")
    expect(generate).to_be_enabled()
    page.fill("#id_count", "2")
    refusal = page.locator("#feedback [data-budget-refusal]")
    expect(refusal).to_contain_text("Over budget for the next batch")
    expect(generate).to_be_disabled()
    # Neither the shortcut nor Enter in a field sends it meanwhile.
    page.press("#id_prompt", "Control+Enter")
    page.press("#id_count", "Enter")
    page.wait_for_timeout(500)
    expect(page.locator("#tiles .tile")).to_have_count(0)
    expect(page.locator("#budget-line .error")).to_have_count(0)  # said once
    page.fill("#id_count", "1")
    expect(refusal).to_have_count(0)
    expect(generate).to_be_enabled()
    assert page.problems == []


def test_queued_notice_goes_and_spend_line_updates_when_images_finish(
    live_server,
    worker,
    designer,
    page,
):
    from playwright.sync_api import expect

    sign_in(page, live_server)
    line = page.locator("#budget-line")
    expect(line).to_contain_text("$0.00")
    page.select_option("#id_model", catalog.ALL)
    page.fill("#id_prompt", "A paper lantern over a quiet lake")
    page.fill("#id_count", "1")
    page.click("#studio-form .actions button[type=submit]:not([name=action])")
    expect(page.locator("#tiles .tile--succeeded")).to_have_count(1, timeout=TIMEOUT_MS)
    expect(page.locator("[data-queued-notice]")).to_have_count(0)
    expect(line).not_to_contain_text("Your spend this month: $0.00")
    assert page.problems == []


def test_form_screenshots_at_desk_and_phone_widths(
    live_server,
    designer,
    tight_budget,
    page,
    tmp_path,
):
    from playwright.sync_api import expect

    SHOTS.mkdir(parents=True, exist_ok=True)
    sign_in(page, live_server)
    page.set_input_files(
        "#input-files",
        [
            write_picture(tmp_path / "a.png", (220, 20, 20)),
            write_picture(tmp_path / "b.png", (20, 20, 220)),
        ],
    )
    expect(page.locator("#input-list [data-input-tile]")).to_have_count(2)
    page.select_option("#id_model", catalog.ALL)
    page.fill("#id_prompt", "put image1 on image2 " + "x" * (catalog.PROMPT_MAX_CHARS - 1000))
    page.fill("#id_count", "2")
    expect(page.locator("#feedback [data-budget-refusal]")).to_be_visible()
    for width in (1440, 390):
        page.set_viewport_size({"width": width, "height": 1400})
        page.locator("#studio-form").screenshot(path=str(SHOTS / f"form-{width}.png"))
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{overflow}px of sideways scrolling at {width}px"
