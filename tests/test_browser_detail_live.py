"""A pending image's page updates itself in a real browser: the status, the cost, the image,
its download button and the continue-editing form appear when it finishes, without a reload
(studio:detail_poll)."""

from __future__ import annotations

import os
import re
import threading
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from imagestudio.studio.models import Generation, Status
from tests.factories import make_generation, stored_picture
from tests.test_browser import (  # noqa: F401  (fixtures)
    TIMEOUT_MS,
    chromium_path,
    designer,
    page,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = Path(os.environ.get("IMAGESTUDIO_SHOTS", "/tmp/imagestudio-shots"))


@pytest.fixture
def pending(designer):  # noqa: F811
    # Made before Playwright starts: its event loop makes the ORM refuse this thread.
    return make_generation(designer, status=Status.RUNNING, started_at=timezone.now())


@pytest.fixture
def finished_fields():
    return {
        **stored_picture(size=(320, 180)),
        "status": Status.SUCCEEDED,
        "finished_at": timezone.now(),
        "billed": True,
        "cost_usd": Decimal("0.0300"),
    }


def in_a_thread(work) -> None:
    """The ORM outside Playwright's event loop, as a worker finishing the image would."""
    thread = threading.Thread(target=work)
    thread.start()
    thread.join()


def sign_in(browser_page, live_server) -> None:
    from playwright.sync_api import expect

    browser_page.goto(f"{live_server.url}/accounts/login/")
    browser_page.fill("#id_username", "designer")
    browser_page.fill("#id_password", "a long test password")
    browser_page.click("button[type=submit]")
    expect(browser_page).to_have_url(f"{live_server.url}/")


def test_a_pending_images_page_shows_the_image_when_it_finishes(
    live_server,
    designer,  # noqa: F811
    pending,
    finished_fields,
    page,  # noqa: F811
):
    from playwright.sync_api import expect

    sign_in(page, live_server)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(f"{live_server.url}/g/{pending.pk}/")
    expect(page.locator("#detail-badge")).to_have_text("Running")
    expect(page.locator("#detail-image")).to_contain_text("updates itself")
    for width in (1440, 390):
        page.set_viewport_size({"width": width, "height": 900 if width > 400 else 844})
        page.screenshot(path=str(SHOTS / f"detail-pending-{width}.png"), full_page=True)
    download = page.locator("#detail-actions a", has_text="Download")
    expect(download).to_have_count(0)
    iterate = page.locator("#detail-editing form#iterate")
    expect(iterate).to_have_count(0)

    in_a_thread(lambda: Generation.objects.filter(pk=pending.pk).update(**finished_fields))

    expect(page.locator("#detail-badge")).to_have_text("Succeeded", timeout=TIMEOUT_MS)
    expect(download).to_have_count(1)
    expect(page.locator("#detail-image img")).to_be_visible()
    expect(page.locator("#detail-facts")).to_contain_text("$0.03")
    expect(page.locator("#detail-facts")).to_contain_text("320×180")
    expect(iterate).to_be_visible()
    expect(iterate.locator("button[type=submit]")).to_have_text("Continue editing")
    page.set_viewport_size({"width": 1440, "height": 900})
    page.screenshot(path=str(SHOTS / "detail-finished-1440.png"), full_page=True)
    # 286 stopped the poller: no request goes out any more.
    polls: list[str] = []
    page.on("request", lambda r: polls.append(r.url) if "/poll" in r.url else None)
    page.wait_for_timeout(4_500)
    assert polls == []
    assert page.problems == []


def test_a_pending_tiles_counter_says_seconds_in_chinese_as_it_counts(
    live_server,
    designer,  # noqa: F811
    pending,
    page,  # noqa: F811
):
    from playwright.sync_api import expect

    # Every request, /jsi18n/ included, asks for Chinese, as a Chinese browser would.
    page.set_extra_http_headers({"Accept-Language": "zh-hans"})
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/g/{pending.pk}/")
    counter = page.locator("#detail-image [data-elapsed-text]")
    first = counter.inner_text()
    # studio.js rewrites the counter every second: wait for a tick, then read its words.
    expect(counter).not_to_have_text(first, timeout=TIMEOUT_MS)
    expect(counter).to_have_text(re.compile(r"^\d+ 秒$"))
    assert page.problems == []


@pytest.fixture
def finished(designer, finished_fields):  # noqa: F811
    return make_generation(designer, **finished_fields)


def test_a_finished_images_page_keeps_the_pictures_box_before_its_thumbnail_arrives(
    finished,
    page,  # noqa: F811
    live_server,
):
    # On a phone the facts sit under the picture: a box that grew when the thumbnail came
    # moved them down (Lighthouse's layout shift 0.17 on this page, mobile).
    page.set_viewport_size({"width": 390, "height": 844})
    held: list = []
    page.route("**/thumb", lambda route: held.append(route))
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/g/{finished.pk}/", wait_until="domcontentloaded")
    picture = page.locator("#detail-image img")
    before = picture.bounding_box()
    assert picture.evaluate("img => img.naturalWidth") == 0  # not arrived yet
    assert before["height"] == pytest.approx(before["width"] * 180 / 320, abs=2)
    for route in held:
        route.continue_()
    page.unroute("**/thumb")
    page.wait_for_function("() => document.querySelector('#detail-image img').naturalWidth > 0")
    assert picture.bounding_box() == pytest.approx(before, abs=1)
