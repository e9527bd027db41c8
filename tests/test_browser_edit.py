"""Editing through a real browser: upload two pictures, order and name them, edit, then
continue the conversation once from the result.

Same real parts as test_browser: live server, a threads-pool Celery worker, the simulated
gateway over HTTP, Debian's Chromium."""

from __future__ import annotations

import re

import pytest

from tests.factories import picture_bytes
from tests.test_browser import (  # noqa: F401  (fixtures)
    TIMEOUT_MS,
    chromium_path,
    designer,
    page,
    worker,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def write_picture(path, color, size, fmt) -> str:
    path.write_bytes(picture_bytes(fmt, size, color))
    return str(path)


def test_upload_two_pictures_edit_and_continue(live_server, worker, designer, page, tmp_path):  # noqa: F811
    from playwright.sync_api import expect

    mug = write_picture(tmp_path / "mug.jpg", (200, 30, 30), (640, 480), "JPEG")
    logo = write_picture(tmp_path / "logo.png", (20, 40, 220), (300, 300), "PNG")

    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "designer")
    page.fill("#id_password", "a long test password")
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{live_server.url}/")

    # The file picker (drag-and-drop posts the same way): both are compressed at once
    # and come back as numbered tiles showing original → sent size.
    page.set_input_files("#input-files", [mug, logo])
    tiles = page.locator("#input-list [data-input-tile]")
    expect(tiles).to_have_count(2)
    expect(tiles.nth(0).locator("[data-input-name]")).to_have_text("image1")
    expect(tiles.nth(1).locator("[data-input-name]")).to_have_text("image2")
    expect(tiles.nth(0).locator(".input-tile__size")).to_contain_text("→")
    expect(tiles.nth(1)).to_contain_text("logo.png")

    # Reorder: the logo first, so it becomes image1.
    tiles.nth(1).locator("[data-move='-1']").click()
    expect(tiles.nth(0)).to_contain_text("logo.png")
    expect(tiles.nth(0).locator("[data-input-name]")).to_have_text("image1")
    expect(tiles.nth(1).locator("[data-input-name]")).to_have_text("image2")

    page.select_option("#id_model", "gpt-image-2-all")
    page.fill("#id_prompt", "Put the logo from")
    # Clicking a tile puts its name into the prompt at the cursor.
    page.locator("#id_prompt").press("End")
    tiles.nth(0).locator("[data-insert-name]").click()
    page.locator("#id_prompt").press("End")
    page.locator("#id_prompt").type("on the mug in ")
    tiles.nth(1).locator("[data-insert-name]").click()
    expect(page.locator("#id_prompt")).to_have_value(
        "Put the logo from image1 on the mug in image2 "
    )
    page.click("#studio-form button[type=submit]")

    done = page.locator("#tiles .tile--succeeded")
    expect(done).to_have_count(1, timeout=TIMEOUT_MS)
    done.first.locator("a.tile__image").click()
    expect(page.locator("h1")).to_contain_text("Image")
    sent = page.locator(".edit-inputs li")
    expect(sent).to_have_count(2)
    expect(sent.nth(0)).to_contain_text("image1")
    first_url = page.url

    # Continue the conversation once.
    page.fill("#iterate-prompt", "now make the background blue")
    page.click("#iterate button[type=submit]")
    expect(page).not_to_have_url(first_url)
    # The new turn's page updates itself (its own poll) until the image is there.
    expect(page.locator("#detail-badge")).to_have_class(
        re.compile(r"badge--succeeded"), timeout=TIMEOUT_MS
    )
    page.reload()
    versions = page.locator(".versions li")
    expect(versions).to_have_count(2)
    expect(versions.nth(1)).to_have_class("depth-1 current")
    expect(page.locator("#iterate button")).to_have_text("Continue editing")
    # The first version now has a child, so continuing from it would branch.
    page.goto(first_url)
    expect(page.locator("#iterate button")).to_have_text("Branch from here")
    assert page.problems == [], "\n".join(page.problems)
