"""A designer's path through a real browser: sign in, generate two images, watch the tiles
fill in through the polling, find both in the gallery.

Everything runs for real except the gateway: the live Django server, a Celery worker
(threads pool, in this process, on an in-memory broker) and the simulated gateway over
HTTP. Chromium is Debian's; Playwright drives it."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.factories import make_user

CHROMIUM = Path("/usr/bin/chromium")
TIMEOUT_MS = 30_000

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def chromium_path() -> str:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: install Debian's chromium package to run browser tests"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return str(CHROMIUM)


@pytest.fixture
def worker(gateway):
    """A real worker, not eager mode: eager would run the images one after the other
    inside the web request, which is exactly what the studio is built to avoid."""
    from celery.contrib.testing.worker import start_worker

    from imagestudio.celery import app

    saved = (app.conf.broker_url, app.conf.broker_transport, app.conf.broker_transport_options)
    app.conf.broker_url = "memory://"
    # The embedded profile names its own filesystem transport class, which would otherwise
    # serve memory:// too and stop the worker before it starts (no folders).
    app.conf.broker_transport = None
    app.conf.broker_transport_options = {}
    _drop_broker_connections(app)
    try:
        with start_worker(
            app,
            pool="threads",
            concurrency=4,
            perform_ping_check=False,
            shutdown_timeout=10,
        ) as running:
            yield running
    finally:
        app.conf.broker_url, app.conf.broker_transport, app.conf.broker_transport_options = saved
        _drop_broker_connections(app)


def _drop_broker_connections(app) -> None:
    """Forget pooled connections so the next send uses the broker URL now configured.

    kombu keeps its pools in a process-wide registry keyed by URL, and a closed pool left
    there fails every later acquire ("Acquire on closed pool"): clear the registry too."""
    from kombu import pools

    pools.reset()
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def designer():
    # Created before Playwright starts: its event loop makes the ORM refuse this thread.
    return make_user("designer", password="a long test password")


@pytest.fixture
def page(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        context = browser.new_context()
        context.grant_permissions(["clipboard-read", "clipboard-write"])
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        problems: list[str] = []
        page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
        page.on(
            "console",
            lambda msg: (
                problems.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None
            ),
        )
        page.problems = problems
        try:
            yield page
        finally:
            context.close()
            browser.close()


def test_generate_two_images_and_find_them_in_the_gallery(live_server, worker, designer, page):
    from playwright.sync_api import expect

    page.goto(f"{live_server.url}/")
    # LoginRequiredMiddleware sends us to the sign-in page first.
    expect(page).to_have_url(f"{live_server.url}/accounts/login/?next=/")
    page.fill("#id_username", "designer")
    page.fill("#id_password", "a long test password")
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{live_server.url}/")

    page.select_option("#id_model", "gpt-image-2-all")
    page.select_option("#id_size", "横版 16:9")
    page.fill("#id_prompt", "A paper lantern floating over a quiet lake at night")
    page.fill("#id_count", "2")
    # The live cost line follows the count (debounced check request).
    expect(page.locator("[data-cost]")).to_have_text("2 images × $0.03 = $0.06")
    # Ctrl+Enter submits (static/studio.js).
    page.press("#id_prompt", "Control+Enter")

    expect(page.locator("#tiles .tile")).to_have_count(2)
    expect(page.locator("#studio-form .notice")).to_contain_text("Queued 2 images")
    # The polling swaps each tile for its thumbnail once the worker has stored it.
    thumbs = page.locator("#tiles .tile--succeeded img")
    expect(thumbs).to_have_count(2, timeout=TIMEOUT_MS)
    for index in range(2):
        thumbs.nth(index).scroll_into_view_if_needed()
        expect(thumbs.nth(index)).to_have_js_property("complete", True)
        assert thumbs.nth(index).evaluate("img => img.naturalWidth") > 0
    # Nothing is left pending, so the poller has been told to stop (HTTP 286).
    expect(page.locator("[data-poll-id]")).to_have_count(0)

    page.click("nav >> text=Gallery")
    expect(page).to_have_url(f"{live_server.url}/gallery/")
    gallery_thumbs = page.locator(".grid--gallery .thumb img")
    expect(gallery_thumbs).to_have_count(2)
    # Searching swaps the results in place (htmx) and keeps the filter in the URL.
    page.fill("input[name=q]", "nosuchword")
    expect(page.locator("#results")).to_contain_text("No images match these filters.")
    expect(page).to_have_url(re.compile(r"/gallery/\?q=nosuchword&"))
    page.fill("input[name=q]", "paper lantern")
    expect(gallery_thumbs).to_have_count(2)

    # A tile opens the full-screen viewer; its link leads to the image's page.
    gallery_thumbs.first.click()
    page.click("[data-part=link]")
    expect(page.locator("#prompt-text")).to_have_text(
        "A paper lantern floating over a quiet lake at night"
    )
    page.click("button[data-copy]")
    expect(page.locator("button[data-copy]")).to_have_text("Copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == "A paper lantern floating over a quiet lake at night"
    assert page.problems == [], "\n".join(page.problems)
