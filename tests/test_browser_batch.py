"""A marketer's list through a real browser: choose what the images are for, paste five
rows of CSV under a template, preview the five prompts and their cost, generate, and
watch the batch page fill in; and a brand kit that fills the form when chosen.

Same real parts as test_browser: live server, a threads-pool Celery worker, the simulated
gateway over HTTP, Debian's Chromium. Set IMAGESTUDIO_SCREENSHOTS=<dir> to keep
screenshots of the list form and the batch page at 1440 and 390 px."""

from __future__ import annotations

import csv
import io
import os
import re
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from PIL import Image

from imagestudio import catalog
from imagestudio.studio.models import Generation
from tests.factories import make_kit
from tests.test_browser import (  # noqa: F401  (fixtures)
    TIMEOUT_MS,
    chromium_path,
    designer,
    page,
    worker,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEMPLATE = 'Summer sale poster for {product}, headline "{slogan}", bold typography'
ROWS = """product,slogan
Straw hat,Shade in style
Sunglasses,See the summer
Beach towel,Dry in a minute
Flip-flops,"Walk light, walk far"
Iced tea,冰爽一夏
"""
WIDTHS = (1440, 390)


def orm[T](read: Callable[[], T]) -> T:
    """Run ORM reads off Playwright's thread: its event loop makes Django refuse them."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(read).result()


def sign_in(browser_page, url: str) -> None:
    from playwright.sync_api import expect

    browser_page.goto(f"{url}/accounts/login/")
    browser_page.fill("#id_username", "designer")
    browser_page.fill("#id_password", "a long test password")
    browser_page.click("button[type=submit]")
    expect(browser_page).to_have_url(f"{url}/")


def screenshots(browser_page, name: str) -> None:
    folder = os.environ.get("IMAGESTUDIO_SCREENSHOTS")
    if not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        browser_page.set_viewport_size({"width": width, "height": 900})
        browser_page.screenshot(path=f"{folder}/{name}-{width}.png", full_page=True)
    browser_page.set_viewport_size({"width": 1440, "height": 900})


def test_a_five_row_csv_previews_generates_and_fills_its_batch_page(
    live_server,
    worker,  # noqa: F811
    designer,  # noqa: F811
    page,  # noqa: F811
):
    from playwright.sync_api import expect

    poster = catalog.PRESETS_BY_KEY["poster"]
    sign_in(page, live_server.url)

    # "What is it for?" sets model and size; the size list is redrawn for that model.
    page.select_option("#id_preset", "poster")
    expect(page.locator("#id_model")).to_have_value(poster.model)
    expect(page.locator("#id_size")).to_have_value(poster.size)

    page.check("input[name=mode][value=list]")
    # A list hides the single prompt and shows the template and the list.
    expect(page.locator("#id_prompt")).to_be_hidden()
    page.fill("#id_template", TEMPLATE)
    page.fill("#id_items", ROWS)
    page.click("button[name=action][value=preview]")

    preview = page.locator("#list-preview")
    expect(preview.locator("tbody tr")).to_have_count(5)
    expect(preview).to_contain_text("5 images × $0.03 = $0.15")
    expect(preview.locator("tbody tr").nth(3)).to_contain_text(
        'Summer sale poster for Flip-flops, headline "Walk light, walk far", bold typography'
    )
    expect(preview.locator("tbody tr").nth(4)).to_contain_text("冰爽一夏")
    # Nothing has been sent by the preview.
    assert not orm(Generation.objects.exists)
    # The preview keeps what was typed and the preset chosen.
    expect(page.locator("#id_preset")).to_have_value("poster")
    expect(page.locator("#id_template")).to_have_value(TEMPLATE)
    page.locator("#id_items").scroll_into_view_if_needed()
    screenshots(page, "list-form")

    page.click("#studio-form button[type=submit]:not([name=action])")
    expect(page).to_have_url(re.compile(rf"{re.escape(live_server.url)}/batches/\d+/$"))
    batch_id = int(page.url.rstrip("/").rsplit("/", 1)[1])

    # The poll fills the grid in and the summary follows; then the poller stops (286).
    expect(page.locator("#tiles .tile--succeeded img")).to_have_count(5, timeout=TIMEOUT_MS)
    expect(page.locator("#batch-summary")).to_contain_text("5 of 5 done")
    expect(page.locator("#batch-summary")).to_contain_text("$0.15")
    expect(page.locator("#poller[hx-get]")).to_have_count(0)
    # Each image shows its row's values.
    expect(page.locator(".batch-cell__row")).to_have_count(5)
    expect(page.locator("#tiles")).to_contain_text("Sunglasses")
    expect(page.locator("#tiles")).to_contain_text("冰爽一夏")
    screenshots(page, "batch-page")

    # The whole batch as one ZIP: the five originals and a manifest with each row's values.
    with page.expect_download() as download:
        page.click("text=Download ZIP")
    with zipfile.ZipFile(download.value.path()) as archive:
        names = archive.namelist()
        text = archive.read("manifest.csv").decode("utf-8-sig")
        manifest = list(csv.DictReader(io.StringIO(text)))
        pictures = [n for n in names if n != "manifest.csv"]
        assert len(pictures) == 5
        for name in pictures:
            with Image.open(io.BytesIO(archive.read(name))) as picture:
                assert picture.size == tuple(int(v) for v in poster.size.split("x"))
    assert sorted(row["product"] for row in manifest) == sorted(
        ["Straw hat", "Sunglasses", "Beach towel", "Flip-flops", "Iced tea"]
    )
    assert {row["slogan"] for row in manifest} >= {"冰爽一夏", "Walk light, walk far"}

    sent = orm(lambda: list(Generation.objects.filter(batch_id=batch_id).select_related("batch")))
    sent.sort(key=lambda g: g.pk)
    assert [g.size for g in sent] == [poster.size] * 5
    assert [g.variables["product"] for g in sent] == [
        "Straw hat",
        "Sunglasses",
        "Beach towel",
        "Flip-flops",
        "Iced tea",
    ]
    assert sent[0].batch.template == TEMPLATE
    assert sent[0].batch.preset == "poster"
    assert page.problems == []


def test_choosing_a_kit_fills_the_form_and_a_hand_chosen_size_forgets_the_preset(
    live_server,
    worker,  # noqa: F811
    designer,  # noqa: F811
    page,  # noqa: F811
):
    from playwright.sync_api import expect

    story = catalog.PRESETS_BY_KEY["story"]
    orm(
        lambda: make_kit(
            designer,
            "Sale stories",
            model=story.model,
            size=story.size,
            preset="story",
            style="Brand colours teal and coral",
            template="Story for {product}",
        )
    )
    draft = orm(lambda: make_kit(designer, "Quick drafts", model=catalog.ALL, size="竖屏 9:16"))
    sign_in(page, live_server.url)

    page.select_option("#id_kit", label="Sale stories")
    expect(page.locator("#id_preset")).to_have_value("story")
    expect(page.locator("#id_model")).to_have_value(story.model)
    expect(page.locator("#id_size")).to_have_value(story.size)
    expect(page.locator("#id_template")).to_have_value("Story for {product}")
    expect(page.locator("input[name=mode][value=list]")).to_be_checked()

    # Picking another size by hand keeps it: the preset would otherwise override it.
    page.select_option("#id_size", catalog.DEFAULT_VIP_SIZE)
    expect(page.locator("#id_preset")).to_have_value("")

    page.fill("#id_items", "product\nStraw hat\nSunglasses\n")
    page.click("button[name=action][value=preview]")
    preview = page.locator("#list-preview")
    expect(preview.locator("tbody tr")).to_have_count(2)
    # The kit's style goes after every prompt (on a line of its own), as it is sent.
    expect(preview.locator("tbody tr").first.locator("td").last).to_have_text(
        re.compile(r"^\s*Story for Straw hat\s*Brand colours teal and coral\s*$")
    )
    page.click("#studio-form button[type=submit]:not([name=action])")
    expect(page).to_have_url(re.compile(r"/batches/\d+/$"))
    expect(page.locator("#tiles .tile--succeeded img")).to_have_count(2, timeout=TIMEOUT_MS)
    sent = orm(lambda: list(Generation.objects.order_by("pk")))
    assert [g.size for g in sent] == [catalog.DEFAULT_VIP_SIZE] * 2
    assert {g.style for g in sent} == {"Brand colours teal and coral"}
    assert sent[0].prompt_sent == "Story for Straw hat\nBrand colours teal and coral"

    # A kit without a preset sets its own model and size (a -all phrasing here).
    page.goto(f"{live_server.url}/?kit={draft.pk}")
    expect(page.locator("#id_kit")).to_have_value(str(draft.pk))
    expect(page.locator("#id_model")).to_have_value(catalog.ALL)
    expect(page.locator("#id_size")).to_have_value("竖屏 9:16")
    expect(page.locator("#id_preset")).to_have_value("")
    assert page.problems == []


def test_an_excel_chinese_csv_is_uploaded_and_a_bad_template_is_refused_where_it_was_typed(
    live_server,
    worker,  # noqa: F811
    designer,  # noqa: F811
    page,  # noqa: F811
    tmp_path,
):
    from playwright.sync_api import expect

    # Excel on a Chinese Windows saves "CSV" in GBK.
    upload = tmp_path / "产品.csv"
    upload.write_bytes("产品,口号\n草帽,清凉一夏\n墨镜,看见夏天\n".encode("gbk"))
    sign_in(page, live_server.url)
    page.select_option("#id_preset", "draft-portrait")
    expect(page.locator("#id_model")).to_have_value(catalog.ALL)
    page.check("input[name=mode][value=list]")

    page.fill("#id_template", "海报：{产品，口号「{口号}」")
    page.set_input_files("#id_items_file", str(upload))
    page.click("button[name=action][value=preview]")
    error = page.locator("#id_template ~ .field-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("a brace that is not closed")
    # Nothing typed is lost.
    expect(page.locator("#id_template")).to_have_value("海报：{产品，口号「{口号}」")
    expect(page.locator("input[name=mode][value=list]")).to_be_checked()

    page.fill("#id_template", "海报：{产品}，口号「{口号}」")
    page.set_input_files("#id_items_file", str(upload))
    page.click("button[name=action][value=preview]")
    preview = page.locator("#list-preview")
    expect(preview.locator("tbody tr")).to_have_count(2)
    expect(preview.locator("tbody tr").first).to_contain_text("海报：草帽，口号「清凉一夏」")
    expect(preview).to_contain_text("2 images × $0.03 = $0.06")
    assert page.problems == []
